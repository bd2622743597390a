// Runs the real program (index.ts) under the offline mocks with the values of a stack file.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DeclaredResource, installMocks } from "./mocks";

export const PROJECT = "cross-region-proxy";
const ROOT = path.resolve(__dirname, "..");

/** The `config:` map of Pulumi.<stack>.yaml, as the CLI hands it to the program (objects as JSON text). */
export function readStackConfig(stack: string): Record<string, string> {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const text = fs.readFileSync(file, "utf8");
    const config: Record<string, string> = {};
    // Stack files here hold flat `namespace:key: value` pairs, quoted or not; anything else is refused
    // rather than misread.
    let inConfig = false;
    for (const line of text.split("\n")) {
        if (/^\s*(#.*)?$/.test(line)) continue;
        if (/^config:\s*$/.test(line)) { inConfig = true; continue; }
        const match = /^ {2}([a-z][a-z0-9-]*:[A-Za-z0-9]+):\s*(.*?)\s*$/.exec(line);
        if (!inConfig || !match) {
            throw new Error(`${file}: cannot read '${line.trim()}' offline; keep stack files to flat 'namespace:key: value' lines`);
        }
        config[match[1]] = unquote(match[2]);
    }
    return config;
}

function unquote(value: string): string {
    if (/^".*"$/.test(value)) return JSON.parse(value);
    if (/^'.*'$/.test(value)) return value.slice(1, -1).replace(/''/g, "'");
    if (value.startsWith("[")) return JSON.stringify(JSON.parse(value.replace(/'/g, "\"")));
    return value;
}

export interface OfflineRun {
    readonly stack: string;
    readonly resources: DeclaredResource[];
    readonly outputs: Record<string, unknown>;
}

export interface RunOptions {
    /** Replaces or adds config values (`namespace:key`); undefined removes one. */
    readonly overrides?: Record<string, string | undefined>;
    /** What a StackReference to the global stack reads. */
    readonly stackOutputs?: Record<string, unknown>;
    readonly secretKeys?: string[];
}

/** Resolves every output of the program and waits until nothing is being registered any more. */
export async function runStack(stack: string, options: RunOptions = {}): Promise<OfflineRun> {
    const config: Record<string, string> = { ...readStackConfig(stack) };
    for (const [key, value] of Object.entries(options.overrides ?? {})) {
        if (value === undefined) delete config[key]; else config[key] = value;
    }
    pulumi.runtime.setAllConfig(config, options.secretKeys);
    const resources = await installMocks(PROJECT, stack, { region: config["aws:region"] ?? "", stackOutputs: options.stackOutputs });
    // A failure inside the program (an apply that throws while a resource is being registered) surfaces
    // as an unhandled rejection; the engine would fail the update, so the offline run fails too.
    const failures: unknown[] = [];
    let failed: () => void = () => undefined;
    const failure = new Promise<void>(settle => { failed = settle; });
    const onFailure = (reason: unknown) => { failures.push(reason); failed(); };
    process.on("unhandledRejection", onFailure);
    const outputs: Record<string, unknown> = {};
    try {
        const entry = require.resolve(path.join(ROOT, "index"));
        delete require.cache[entry];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const exported: Record<string, pulumi.Output<unknown>> = require(entry);
        for (const [name, output] of Object.entries(exported)) {
            outputs[name] = await resolve(output).catch(onFailure);
        }
        // Resources no output depends on (a PodDisruptionBudget, say) may still be registering: wait for
        // every RPC in flight. The SDK exports this function but marks it internal in its typings.
        // After a failure, registrations that depend on it never finish: stop waiting, but give their
        // rejections a moment to arrive here rather than in whatever runs next.
        await Promise.race([(pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs(), failure]);
        await new Promise(settle => setTimeout(settle, failures.length > 0 ? 100 : 0));
    } finally {
        process.off("unhandledRejection", onFailure);
    }
    if (failures.length > 0) {
        throw failures[0];
    }
    return { stack, resources, outputs };
}

/**
 * The value of an output under mocks (never unknown, since preview is false), or its error: an apply
 * that throws (a missing stack output, say) must fail the run, not hang it. `promise()` is the SDK's
 * own accessor, marked internal in its typings.
 */
export function resolve<T>(output: pulumi.Input<T>): Promise<T> {
    return (pulumi.output(output) as unknown as { promise(): Promise<T> }).promise();
}
