// Reads this project's stack config as raw strings, so the parsers in this folder stay pure functions
// that tests can call with a plain object, and one place knows how Pulumi stores values.
import * as pulumi from "@pulumi/pulumi";
import { partitionOf } from "../core/partition";
import { InvalidValueError, editDistance, requireInteger, requireTopicArn } from "../core/validate";

export const NAMESPACE = "cross-region-proxy";

/**
 * What offline tools (the plan, the mocked tests) hand the program for a value the stack file holds
 * encrypted: they have no key to decrypt it. Checks that need a secret's plain text skip this one value.
 */
export const UNDECRYPTED_SECRET = "[secret: encrypted in the stack file, not decrypted offline]";

export interface ConfigSource {
    /** The raw value of `cross-region-proxy:<key>`: lists and objects arrive as JSON text. */
    get(key: string): string | undefined;
    /** The same value as a secret output (never printed). */
    getSecret(key: string): pulumi.Output<string> | undefined;
    /** Every key set under this project's namespace, to catch typos. */
    keys(): string[];
}

export function pulumiConfigSource(): ConfigSource {
    const config = new pulumi.Config(NAMESPACE);
    return {
        // The raw value: Config.get would warn on every secret key, and the parsers only test a secret
        // for presence, never print it.
        get: key => pulumi.runtime.getConfig(`${NAMESPACE}:${key}`),
        getSecret: key => config.getSecret(key),
        keys: () => Object.keys(pulumi.runtime.allConfig())
            .filter(k => k.startsWith(`${NAMESPACE}:`))
            .map(k => k.slice(NAMESPACE.length + 1)),
    };
}

/** A plain-object source for tests and the offline plan. */
export function objectConfigSource(values: Record<string, string | number | boolean | object>): ConfigSource {
    const raw = (key: string) => {
        const v = values[key];
        return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
    };
    return {
        get: raw,
        getSecret: key => { const v = raw(key); return v === undefined ? undefined : pulumi.secret(v); },
        keys: () => Object.keys(values),
    };
}

const key = (k: string) => `${NAMESPACE}:${k}`;

export function requireString(source: ConfigSource, k: string, hint: string): string {
    const value = source.get(k);
    if (value === undefined || value.trim() === "") {
        throw new InvalidValueError(key(k), `is required: ${hint}`);
    }
    return value.trim();
}

export function optionalString(source: ConfigSource, k: string): string | undefined {
    const value = source.get(k)?.trim();
    return value === "" ? undefined : value;
}

/** A list given as YAML/JSON (`[80, 443]`) or as a comma-separated string (`80,443`). */
export function optionalList(source: ConfigSource, k: string): unknown[] | undefined {
    const value = optionalString(source, k);
    if (value === undefined) {
        return undefined;
    }
    if (value.startsWith("[")) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            throw new InvalidValueError(key(k), "is not a valid list: write it as a YAML list or as comma-separated values");
        }
        if (!Array.isArray(parsed)) {
            throw new InvalidValueError(key(k), "expected a list");
        }
        return parsed;
    }
    return value.split(",").map(s => s.trim()).filter(s => s !== "");
}

/** A whole number in [min, max], or the default when unset. */
export function optionalInteger(source: ConfigSource, k: string, fallback: number, min: number, max: number): number {
    return requireInteger(key(k), source.get(k) ?? fallback, min, max);
}

/** The SNS topic both stacks' alarms notify, if any. */
export function optionalTopicArn(source: ConfigSource, region: string): string | undefined {
    const value = optionalString(source, "alarmTopicArn");
    return value === undefined ? undefined : requireTopicArn(key("alarmTopicArn"), value, partitionOf(region), region);
}

export function optionalBoolean(source: ConfigSource, k: string, fallback: boolean): boolean {
    const value = optionalString(source, k);
    if (value === undefined) return fallback;
    if (value === "true" || value === "false") return value === "true";
    throw new InvalidValueError(key(k), `expected true or false, got '${value}'`);
}

/** Fails on keys this role does not read, naming the closest known key: a typo must not pass silently. */
export function rejectUnknownKeys(source: ConfigSource, known: readonly string[], role: string): void {
    for (const k of source.keys()) {
        if (!known.includes(k)) {
            const near = known.find(n => n.toLowerCase() === k.toLowerCase() || n.startsWith(k) || k.startsWith(n))
                ?? known.find(n => editDistance(n.toLowerCase(), k.toLowerCase()) <= 2);
            throw new InvalidValueError(key(k), `is not a setting of the ${role} stack${near ? ` (did you mean ${key(near)}?)` : ""}; known keys: ${known.join(", ")}`);
        }
    }
}

export { key as qualified };

/** A Route 53 hosted zone id, when set (both stacks take one). */
export function optionalZoneId(source: ConfigSource, k: string): string | undefined {
    const value = optionalString(source, k);
    if (value !== undefined && !/^Z[A-Z0-9]{1,31}$/.test(value)) {
        throw new InvalidValueError(key(k), `expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ, got '${value}'`);
    }
    return value;
}
