// The probability cascade that spreads new connections by weight: rule i matches w_i / (w_i + ... + w_last) of
// what reaches it, the last rule always, so destination i gets exactly w_i / (sum of all weights). With equal
// weights rule i of N takes 1/(N-i) and each destination exactly 1/N (kube-proxy does the same).

export interface Fraction {
    readonly numerator: number;
    readonly denominator: number;
}

/** The match probability of each rule for these whole-number weights, exact; the last is 1/1 (rendered without a statistic match). */
export function weightedCascade(weights: readonly number[]): Fraction[] {
    let rest = weights.reduce((sum, w) => sum + w, 0);
    return weights.map((w, i) => {
        const p = i === weights.length - 1 ? { numerator: 1, denominator: 1 } : { numerator: w, denominator: rest };
        rest -= w;
        return p;
    });
}

/** The even cascade over n destinations: 1/n, 1/(n-1), ..., 1/1. */
export function cascade(n: number): Fraction[] {
    return weightedCascade(Array.from({ length: n }, () => 1));
}

/** Decimal places of a printed probability, as kube-proxy prints it (`%0.10f`). */
const PLACES = 10;

/**
 * p rounded half up to 10 decimals by exact long division in whole numbers, so that the agent's bash
 * (`probability` in proxy/state.ts, 64-bit integers) prints the same digits for the same fraction. For 1/k this
 * is what `%0.10f` and toFixed(10) print. iptables stores round(2^31 * p) and prints it back with 11 digits.
 */
export function formatProbability(p: Fraction): string {
    const { numerator, denominator } = p;
    if (!(Number.isSafeInteger(numerator) && Number.isSafeInteger(denominator) && numerator >= 0 && numerator <= denominator
        && denominator > 0 && denominator * 10 <= Number.MAX_SAFE_INTEGER)) {
        throw new RangeError(`not a probability of whole numbers: ${numerator}/${denominator}`);
    }
    if (numerator === denominator) return `1.${"0".repeat(PLACES)}`;
    let rest = numerator;
    let digits = 0;
    for (let k = 0; k < PLACES; k++) {
        rest *= 10;
        digits = digits * 10 + Math.floor(rest / denominator);
        rest %= denominator;
    }
    if (2 * rest >= denominator) digits += 1;
    return digits === 10 ** PLACES ? `1.${"0".repeat(PLACES)}` : `0.${String(digits).padStart(PLACES, "0")}`;
}
