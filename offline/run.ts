// Runs the real program (index.ts) under the offline mocks with the values of a stack file.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DeclaredResource, Invoke, installMocks } from "./mocks";
import { StackConfig, readStackFile } from "./stackFile";

export const PROJECT = "cross-region-proxy";
const ROOT = path.resolve(__dirname, "..");

/** The `config:` map of Pulumi.<stack>.yaml (or another file), as the CLI hands it to the program. */
export function readStackConfig(stack: string, file = path.join(ROOT, `Pulumi.${stack}.yaml`)): StackConfig {
    return readStackFile(file);
}

export interface OfflineRun {
    readonly stack: string;
    readonly resources: DeclaredResource[];
    readonly invokes: Invoke[];
    readonly outputs: Record<string, unknown>;
    /** The config the program ran with (stack file and overrides). */
    readonly config: Record<string, string>;
}

export interface RunOptions {
    /** Replaces or adds config values (`namespace:key`); undefined removes one. */
    readonly overrides?: Record<string, string | undefined>;
    /** What a StackReference to the global stack reads. */
    readonly stackOutputs?: Record<string, unknown>;
    /** What each StackReference reads, by the referenced stack's qualified name (instead of stackOutputs). */
    readonly stacks?: Readonly<Record<string, Record<string, unknown>>>;
    /** The RFC 5737 block of this stack's Elastic IPs (offline/mocks.ts): a different one per global stack. */
    readonly addressBlock?: number;
    readonly secretKeys?: string[];
    /** The Pulumi organization (default: `organization`, a DIY backend's). */
    readonly organization?: string;
    /** How many zones the region has (MockWorld.availabilityZones). */
    readonly availabilityZones?: number;
    /** Availability zones of existing subnets, by id (MockWorld.subnetZones). */
    readonly subnetZones?: Record<string, string | null>;
    /** A stack file other than Pulumi.<stack>.yaml (a test fixture). */
    readonly stackFile?: string;
}

/** A program that failed, with what it had declared by then (a check that must come first declares nothing). */
export class OfflineRunError extends Error {
    constructor(readonly cause: unknown, readonly resources: DeclaredResource[]) {
        super(cause instanceof Error ? cause.message : String(cause));
        this.name = "OfflineRunError";
    }
}

/** Resolves every output of the program and waits until nothing is being registered any more. */
export async function runStack(stack: string, options: RunOptions = {}): Promise<OfflineRun> {
    const file = readStackConfig(stack, options.stackFile);
    const config: Record<string, string> = { ...file.values };
    for (const [key, value] of Object.entries(options.overrides ?? {})) {
        if (value === undefined) delete config[key]; else config[key] = value;
    }
    pulumi.runtime.setAllConfig(config, [...file.secretKeys, ...options.secretKeys ?? []]);
    const { declared: resources, invokes } = await installMocks(PROJECT, stack, {
        region: config["aws:region"] ?? "", stackOutputs: options.stackOutputs, stacks: options.stacks, addressBlock: options.addressBlock,
        organization: options.organization, subnetZones: options.subnetZones, availabilityZones: options.availabilityZones,
    });
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
        const program = async () => require(entry);
        // As Pulumi's Node.js host does (cmd/run/run.js): an exported function is called, a promise awaited.
        const exported: Record<string, pulumi.Output<unknown>> = await program()
            .then(value => value instanceof Function ? value() : value)
            .catch(err => { onFailure(err); return {}; });
        // An output that depends on a failed registration never resolves, and a process awaiting only it
        // would end without a word: stop at the first failure instead.
        for (const [name, output] of Object.entries(exported)) {
            outputs[name] = await Promise.race([resolve(output).catch(onFailure), failure]);
            if (failures.length > 0) break;
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
        throw new OfflineRunError(failures[0], resources);
    }
    return { stack, resources, invokes, outputs, config };
}

/**
 * The value of an output under mocks (never unknown, since preview is false), or its error: an apply
 * that throws (a missing stack output, say) must fail the run, not hang it. `promise()` is the SDK's
 * own accessor, marked internal in its typings.
 */
export function resolve<T>(output: pulumi.Input<T>): Promise<T> {
    return (pulumi.output(output) as unknown as { promise(): Promise<T> }).promise();
}
