// What the program declares under the offline mocks, for the lab's stand-ins: the ALB of the global
// stack (lab/albStandIn.ts) and the CloudFront distribution of the china stack (lab/edge.ts). The run
// happens in a child process (lab/tools/declare.ts) so that the lab never installs mocks in its own.
import * as path from "node:path";
import { DeclaredResource } from "../offline/mocks";
import { run } from "./exec";

export interface DeclaredStacks {
    readonly global: DeclaredResource[];
    readonly china: DeclaredResource[];
}

/**
 * The china stack as the lab runs it: CloudFront on (the committed stack file turns it off, since China
 * needs an ICP filing), with an already uploaded IAM certificate, as README's offline-plan example does.
 */
export const LAB_CHINA_OVERRIDES: Readonly<Record<string, string>> = {
    "cross-region-proxy:cloudfrontEnabled": "true",
    "cross-region-proxy:cloudfrontIamCertificateId": "ASCAEXAMPLEEXAMPLE000",
};

const REPO_ROOT = path.resolve(__dirname, "..");

/** Both stacks' declared resources (with the mocks' state, for following ARNs); throws with the program's error. */
export function declaredStacks(): DeclaredStacks {
    const result = run(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, "tools", "declare.ts")],
        { cwd: REPO_ROOT, env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") } });
    const last = result.stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(last) as DeclaredStacks;
}

/** A deep copy to change in a test without touching the original. */
export function copyOf<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}
