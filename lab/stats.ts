// Pearson's chi-square goodness-of-fit test, self-contained: the survival function of the chi-square
// distribution is the regularized upper incomplete gamma function Q(k/2, x/2), computed with the series
// for x < a + 1 and Lentz's continued fraction otherwise (Numerical Recipes, "Incomplete Gamma Function").

const LANCZOS = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function logGamma(x: number): number {
    if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
    if (x < 0.5) {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx)
        return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
    }
    const z = x - 1;
    let sum = LANCZOS[0];
    for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
    const t = z + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const EPS = 1e-15;
const MAX_ITERATIONS = 10_000;

/** Regularized lower incomplete gamma P(a, x), by its series (converges fast for x < a + 1). */
function lowerSeries(a: number, x: number): number {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < MAX_ITERATIONS; n++) {
        term *= x / (a + n);
        sum += term;
        if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Regularized upper incomplete gamma Q(a, x), by its continued fraction (for x >= a + 1). */
function upperContinuedFraction(a: number, x: number): number {
    const tiny = 1e-300;
    let b = x + 1 - a;
    let c = 1 / tiny;
    let d = 1 / b;
    let h = d;
    for (let i = 1; i < MAX_ITERATIONS; i++) {
        const an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (Math.abs(d) < tiny) d = tiny;
        c = b + an / c;
        if (Math.abs(c) < tiny) c = tiny;
        d = 1 / d;
        const delta = d * c;
        h *= delta;
        if (Math.abs(delta - 1) < EPS) break;
    }
    return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function. */
export function regularizedUpperGamma(a: number, x: number): number {
    if (!(a > 0)) throw new RangeError(`a must be > 0, got ${a}`);
    if (!(x >= 0)) throw new RangeError(`x must be >= 0, got ${x}`);
    if (x === 0) return 1;
    return x < a + 1 ? 1 - lowerSeries(a, x) : upperContinuedFraction(a, x);
}

/** P(X > x) for X ~ chi-square with df degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
    if (!Number.isInteger(df) || df < 1) throw new RangeError(`df must be a positive integer, got ${df}`);
    if (x <= 0) return 1;
    return Math.min(1, Math.max(0, regularizedUpperGamma(df / 2, x / 2)));
}

export interface ChiSquareResult {
    readonly statistic: number;
    readonly df: number;
    /** Probability of a statistic at least this large if the counts follow the expected proportions. */
    readonly p: number;
    readonly total: number;
    readonly expected: readonly number[];
}

/** Goodness of fit of observed counts to expected proportions (uniform when omitted). */
export function chiSquareTest(observed: readonly number[], proportions?: readonly number[]): ChiSquareResult {
    const k = observed.length;
    if (k < 2) throw new RangeError("need at least two categories");
    const weights = proportions ?? observed.map(() => 1);
    if (weights.length !== k) throw new RangeError("observed and proportions differ in length");
    const weightSum = weights.reduce((s, w) => s + w, 0);
    const total = observed.reduce((s, o) => s + o, 0);
    if (total <= 0) throw new RangeError("no observations");
    const expected = weights.map(w => (total * w) / weightSum);
    if (expected.some(e => e <= 0)) throw new RangeError("every category needs a positive expected count");
    const statistic = observed.reduce((s, o, i) => s + (o - expected[i]) ** 2 / expected[i], 0);
    const df = k - 1;
    return { statistic, df, p: chiSquareSurvival(statistic, df), total, expected };
}
