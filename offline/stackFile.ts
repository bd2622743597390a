// Reads a Pulumi.<stack>.yaml as `pulumi stack init` and `pulumi config set [--secret]` write it, and hands
// its `config:` map over as the CLI hands it to the program. The conversion follows Pulumi's own
// (pulumi/pulumi sdk/go/common/resource/config/object.go, MarshalString and isSecureValue): strings stay as
// they are, numbers and booleans become their JSON text, lists and objects JSON text, and a map whose
// only key is `secure` is an encrypted value. Offline there is no key to decrypt it with, so the program
// gets a secret placeholder instead; the ciphertext is never passed on. Top-level keys other than
// `config` (encryptionsalt, secretsprovider, encryptedkey, environment) are not config and are ignored.
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { UNDECRYPTED_SECRET } from "../config/reader";

export interface StackConfig {
    /** `namespace:key` to the raw string the program reads. */
    readonly values: Record<string, string>;
    /** Keys whose value was encrypted (or holds an encrypted value): the program sees them as secrets. */
    readonly secretKeys: string[];
}

const isSecure = (v: unknown): v is { secure: string } =>
    v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";

/** A value with every encrypted part replaced by the placeholder, and whether it had one. */
function decryptOffline(value: unknown): { value: unknown; secret: boolean } {
    if (isSecure(value)) return { value: UNDECRYPTED_SECRET, secret: true };
    if (Array.isArray(value)) {
        const items = value.map(decryptOffline);
        return { value: items.map(i => i.value), secret: items.some(i => i.secret) };
    }
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value).map(([k, v]) => [k, decryptOffline(v)] as const);
        return { value: Object.fromEntries(entries.map(([k, v]) => [k, v.value])), secret: entries.some(([, v]) => v.secret) };
    }
    return { value, secret: false };
}

/** The text a program reads for one value: strings as they are, everything else as JSON. */
function asText(value: unknown): string {
    if (value === null) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
}

export function parseStackFile(text: string, file: string): StackConfig {
    let doc: unknown;
    try {
        // The core schema: YAML 1.2 scalars (as Go's yaml.v3 reads them), no timestamps or other types.
        doc = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
    } catch (err) {
        throw new Error(`${file}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
    const config = doc !== null && typeof doc === "object" ? (doc as { config?: unknown }).config : undefined;
    if (config === undefined || config === null) {
        return { values: {}, secretKeys: [] };
    }
    if (typeof config !== "object" || Array.isArray(config)) {
        throw new Error(`${file}: 'config' must be a map of namespace:key to value`);
    }
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, raw] of Object.entries(config)) {
        if (!/^[^:\s]+:[^:\s]+$/.test(key)) {
            throw new Error(`${file}: config key '${key}' is not namespace:key (e.g. cross-region-proxy:${key})`);
        }
        const { value, secret } = decryptOffline(raw);
        values[key] = asText(value);
        if (secret) secretKeys.push(key);
    }
    return { values, secretKeys };
}

export function readStackFile(file: string): StackConfig {
    return parseStackFile(fs.readFileSync(file, "utf8"), file);
}
