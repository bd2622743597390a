// Running the rendered agent in the lab, shared by the agent lab and the regions lab: the agent as a background
// process with the stand-in `aws` (lab/awsStandIn.ts), outages and their figures, and the steady stream of new
// connections (lab/tools/stream.ts) with held ones.
import * as fs from "node:fs";
import * as path from "node:path";
import { LineTool, streamToolArgv } from "./drivers";
import { startInNs } from "./exec";
import { pause, until } from "./poll";

/** What the agents of the lab report as their Auto Scaling group, instance and region. */
export const AGENT_IDENTITY = { group: "crp-lab-asg", instance: "i-0123456789abcdef0", region: "cn-northwest-1" } as const;

/** One outage and its end, times in ms since the epoch. */
export interface Outage { readonly dark: number; readonly gone: number; readonly restored: number; readonly back: number }

/**
 * `darken(true)`, then until `gone()` holds (the agent moved away), `darkMs` more, `darken(false)`, then until
 * `back()` holds (readmitted). The outage is undone whatever fails on the way.
 */
export async function outage(what: string, darken: (on: boolean) => void, gone: () => boolean, back: () => boolean, darkMs: number): Promise<Outage> {
    const dark = Date.now();
    darken(true);
    let restored: number | undefined;
    try {
        const left = dark + until(`${what}: moved away`, gone);
        await pause(darkMs);
        restored = Date.now();
        darken(false);
        return { dark, gone: left, restored, back: restored + until(`${what}: back`, back) };
    } finally {
        if (restored === undefined) darken(false);
    }
}

/**
 * Per outage: ms until the agent moved away and until it readmitted; new connections that failed before the move
 * (their SYN went to the dark address), between the move and the outage's end, and while readmitting (to 2 s after).
 */
export function outageFigures(events: readonly Outage[], failures: readonly number[]) {
    const between = (from: number, to: number) => failures.filter(t => t >= from && t <= to).length;
    return {
        gone: events.map(e => e.gone - e.dark),
        back: events.map(e => e.back - e.restored),
        failedBefore: events.map(e => between(e.dark - 100, e.gone)),
        failedAfter: events.map(e => between(e.gone + 1, e.restored - 1)),
        failedReadmitting: events.map(e => between(e.restored, e.back + 2000)),
    };
}

export interface Agent { pid: number; log: string; record: string; state: string }

/** Writes the agent's text to DIR/NAME.sh and runs it in a namespace with the stand-in `aws` and a state folder of its own. */
export function startAgent(ns: string, text: string, dir: string, name: string, awsBin: string, env: NodeJS.ProcessEnv = {}): Agent {
    const file = path.join(dir, `${name}.sh`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    const a = { log: path.join(dir, `${name}.log`), record: path.join(dir, `${name}-aws.log`), state: path.join(dir, `${name}-state`) };
    const pid = startInNs(ns, "bash", [file], a.log, {
        ...process.env, PATH: `${awsBin}:${process.env.PATH}`, CROSS_REGION_PROXY_STATE: a.state, CRP_AWS_RECORD: a.record,
        CROSS_REGION_PROXY_GROUP: AGENT_IDENTITY.group, CROSS_REGION_PROXY_INSTANCE_ID: AGENT_IDENTITY.instance, AWS_REGION: AGENT_IDENTITY.region,
        CROSS_REGION_PROXY_METRICS_INTERVAL: "2", ...env,
    });
    return { pid, ...a };
}

/** lab/tools/stream.ts in a namespace: its first line reports the held connections, `stop` its results. */
export class StreamClient extends LineTool {
    constructor(ns: string, host: string, port: number, rate: number, holdPort: number, hold: number) {
        super(ns, streamToolArgv(host, port, rate, holdPort, hold));
    }

    ready(): Promise<{ held: number; ports: number[] }> {
        return this.next();
    }

    finish(): Promise<{ attempts: number; failures: number[]; closed: number[] }> {
        return this.send("stop");
    }
}
