// Command-line flags of the lab's tools (lab, bench): a usage error names the flag and exits 2.

export class UsageError extends Error { }

/** An integer flag in [min, max], or the default when absent. */
export function intFlag(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
        throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got '${value}'`);
    }
    return Number(value);
}
