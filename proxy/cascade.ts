// The probability cascade that spreads new connections evenly: rule i of N matches with 1/(N-i) of what
// reaches it, the last rule always, so every destination gets exactly 1/N (kube-proxy does the same).

export interface Fraction {
    readonly numerator: number;
    readonly denominator: number;
}

/** The match probability of each rule, exact; the last is 1/1 (rendered without a statistic match). */
export function cascade(n: number): Fraction[] {
    return Array.from({ length: n }, (_, i) => ({ numerator: 1, denominator: n - i }));
}

/** As kube-proxy prints it (`%0.10f`); iptables stores round(2^31 * p) and prints it back with 11 digits. */
export function formatProbability(p: Fraction): string {
    return (p.numerator / p.denominator).toFixed(10);
}
