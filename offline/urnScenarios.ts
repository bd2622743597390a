// The recorded URNs of each stack: what the program registers now (tests/fixtures/urns/<stack>.txt) and what
// stacks deployed from earlier releases hold (tests/fixtures/urns/deployed/), each under one run that
// declares every optional resource (the china stack with its Route 53 records and CloudFront on).
import * as fs from "node:fs";
import * as path from "node:path";
import { CLOUDFRONT_IN_CHINA } from "./certificate";
import { RunOptions } from "./run";

export const URN_DIR = path.resolve(__dirname, "..", "tests", "fixtures", "urns");
export const STACKS = ["global", "china"] as const;
export type StackName = typeof STACKS[number];

/** The run of each stack whose URNs are recorded. */
export const URN_SCENARIOS: Record<StackName, RunOptions> = {
    global: {},
    china: {
        overrides: { ...CLOUDFRONT_IN_CHINA.overrides, "cross-region-proxy:manageDnsRecords": "true" },
        secretKeys: [...CLOUDFRONT_IN_CHINA.secretKeys],
        stackOutputs: { nlbPublicIps: ["198.51.100.7", "203.0.113.10"], nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] },
    },
};

export const currentUrnFile = (stack: StackName) => path.join(URN_DIR, `${stack}.txt`);
/** A recorded file's path as the messages show it: from the repository's root. */
export const shownPath = (file: string) => path.relative(path.resolve(URN_DIR, "..", "..", ".."), file);

/** The URNs of a recorded file: one a line, `#` comments and blank lines skipped. */
export function readUrns(file: string): string[] {
    return fs.readFileSync(file, "utf8").split("\n").map(l => l.trim()).filter(l => l !== "" && !l.startsWith("#"));
}

/** The layouts live stacks may still have, per stack: file name and URNs. */
export function deployedLayouts(stack: StackName): Array<{ file: string; urns: string[] }> {
    const dir = path.join(URN_DIR, "deployed");
    return fs.readdirSync(dir).filter(f => f.endsWith(`-${stack}.txt`)).sort()
        .map(f => ({ file: path.join(dir, f), urns: readUrns(path.join(dir, f)) }));
}

export const CURRENT_HEADER = (stack: StackName) => `# Every resource URN the ${stack} stack registers, under offline/urnScenarios.ts (written by npm run urns -- --write).
# tests/urns.test.ts fails when the program registers a URN that is not here, or drops one without an alias
# that adopts it. Before a release, copy this file to deployed/<version>-${stack}.txt.
`;
