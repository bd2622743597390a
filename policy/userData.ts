// Launch template user-data: within EC2's 16 KiB, and never flushing tables other software owns.
import * as zlib from "node:zlib";
import { ResourceValidationPolicy } from "@pulumi/policy";
import * as yaml from "js-yaml";

/** EC2 takes at most 16 KiB of user-data, counted before base64 (EC2 guide, "Instance user data"). */
export const USER_DATA_LIMIT = 16 * 1024;

/** The raw user-data bytes of a launch template (base64) or an instance (text or base64). */
export function userDataBytes(type: string, props: Record<string, any>): Buffer | undefined {
    if (type === "aws:ec2/launchTemplate:LaunchTemplate" || (type === "aws:ec2/instance:Instance" && props.userDataBase64 !== undefined)) {
        const encoded = type === "aws:ec2/instance:Instance" ? props.userDataBase64 : props.userData;
        return typeof encoded === "string" ? Buffer.from(encoded, "base64") : undefined;
    }
    return type === "aws:ec2/instance:Instance" && typeof props.userData === "string" ? Buffer.from(props.userData) : undefined;
}

const gunzipped = (bytes: Buffer) => (bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes) : bytes);

/** The text cloud-init reads: gunzipped when the bytes are gzip. */
export function userDataText(bytes: Buffer): string {
    return gunzipped(bytes).toString("utf8");
}

/** cloud-init's write_files encodings (cloud-init docs, "Write files"): base64, optionally of gzip. */
const ENCODED = new Set(["b64", "base64", "gz+b64", "gzip+base64", "gz+base64", "gzip+b64"]);

/**
 * Every text the instance will run or write: the user-data itself and, for a #cloud-config, each
 * write_files entry decoded as cloud-init decodes it (a script stored as gz+b64 is checked as the script).
 */
export function userDataTexts(bytes: Buffer): string[] {
    const text = userDataText(bytes);
    if (!text.startsWith("#cloud-config")) return [text];
    let doc: { write_files?: Array<{ content?: unknown; encoding?: unknown }> } | undefined;
    try {
        doc = yaml.load(text) as typeof doc;
    } catch {
        return [text];
    }
    const files = (doc?.write_files ?? []).filter(f => typeof f.content === "string" && ENCODED.has(String(f.encoding ?? "")))
        .map(f => gunzipped(Buffer.from(f.content as string, "base64")).toString("utf8"));
    return [text, ...files];
}

/** A command at the start of a shell command (not an argument of another one, as in `for t in iptables ...`). */
const COMMAND = String.raw`(?:^|[;&|({]|\b(?:then|do|else|exec|sudo|command))[ \t]*`;
const FLUSHES: readonly [RegExp, string][] = [
    // -F or -X with no chain after it: every chain of the table, Docker's, kube-proxy's and the CNI's included.
    [new RegExp(String.raw`${COMMAND}ip6?tables(?:-legacy|-nft)?\b[^\n;&|]*?\s(?:-F|--flush|-X|--delete-chain)(?=\s*(?:$|[;&|]|\s-))`, "m"), "iptables -F/-X without a chain flushes whole tables"],
    [new RegExp(String.raw`${COMMAND}ip6?tables(?:-legacy|-nft)?-restore\b(?![^\n]*(?:--noflush|\s-n\b))`, "m"), "iptables-restore without --noflush replaces whole tables"],
    [/\bnft\s+flush\s+ruleset\b/, "nft flush ruleset drops every table"],
];

export const userDataSize: ResourceValidationPolicy = {
    name: "user-data-size",
    description: "Launch template and instance user-data is at most 16 KiB before base64.",
    validateResource: (args, report) => {
        const bytes = userDataBytes(args.type, args.props);
        if (bytes !== undefined && bytes.length > USER_DATA_LIMIT) {
            report(`user-data is ${bytes.length} bytes; EC2 takes at most ${USER_DATA_LIMIT}`);
        }
    },
};

export const userDataKeepsOtherRules: ResourceValidationPolicy = {
    name: "user-data-no-table-flush",
    description: "User-data never flushes whole netfilter tables (iptables -F/-X, -t nat -F, iptables-restore without --noflush, nft flush ruleset).",
    validateResource: (args, report) => {
        const bytes = userDataBytes(args.type, args.props);
        if (bytes === undefined) return;
        for (const text of userDataTexts(bytes)) {
            for (const [pattern, why] of FLUSHES) {
                if (pattern.test(text)) report(`${why}: manage only your own chains`);
            }
        }
    },
};
