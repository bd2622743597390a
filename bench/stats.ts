// Summary statistics of repeated measurements: the bench reports a median and the spread around it.

export function median(xs: readonly number[]): number {
    if (xs.length === 0) throw new Error("median of no values");
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** (max - min) / median: how far apart the rounds were, as a fraction of the figure; 0 for one round. */
export function spread(xs: readonly number[]): number {
    const m = median(xs);
    return m === 0 ? 0 : (Math.max(...xs) - Math.min(...xs)) / m;
}

export interface Summary { readonly median: number; readonly min: number; readonly max: number; readonly spread: number }

export function summarize(xs: readonly number[]): Summary {
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), spread: spread(xs) };
}
