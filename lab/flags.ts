// Command-line flags of the lab's tools (lab, bench): a bad value names the flag and exits 2 (core/cli).
import { InvalidValueError } from "../core/validate";

/** An integer flag in [min, max], or the default when absent. */
export function intFlag(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
        throw new InvalidValueError(`--${name}`, `expected an integer from ${min} to ${max}, got '${value}'`);
    }
    return Number(value);
}
