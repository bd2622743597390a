// Running the rendered agent in the lab, shared by the agent lab and the regions lab: the agent as a background
// process with a stand-in `aws` that records each call, polling until something holds, and the steady stream of
// new connections (lab/tools/stream.ts) with held ones.
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "./constants";
import { toolEnv } from "./drivers";
import { sleep, startInNs } from "./exec";

const STREAM_TOOL = path.join(__dirname, "tools", "stream.ts");
/** What the agents of the lab report as their Auto Scaling group, instance and region. */
export const AGENT_IDENTITY = { group: "crp-lab-asg", instance: "i-0123456789abcdef0", region: "cn-northwest-1" } as const;

/** Polls until `done` holds; returns the milliseconds it took, or throws after timeoutMs. */
export function until(what: string, done: () => boolean, timeoutMs = 10_000): number {
    const t0 = Date.now();
    while (!done()) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not after ${timeoutMs / 1000} s`);
        sleep(25);
    }
    return Date.now() - t0;
}

export function pause(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

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

/** A stand-in `aws` on PATH that records each call (arguments joined by \x1f) instead of sending it; returns its folder. */
export function awsStandIn(dir: string): string {
    const bin = path.join(dir, "aws-bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "aws"), "#!/bin/bash\n{ printf '%s\\x1f' \"$@\"; printf '\\n'; } >>\"$CRP_AWS_RECORD\"\n", { mode: 0o755 });
    return bin;
}

/** The calls the stand-in `aws` recorded, each as its argument vector. */
export const recorded = (file: string) => fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(l => l.split("\x1f").filter(a => a !== "")) : [];

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

/** lab/tools/stream.ts in a namespace, driven over stdin. */
export class StreamClient {
    private readonly child: ChildProcessWithoutNullStreams;
    private readonly lines: string[] = [];
    private waiter?: () => void;

    constructor(ns: string, host: string, port: number, rate: number, holdPort: number, hold: number) {
        this.child = spawn("ip", ["netns", "exec", ns, process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), STREAM_TOOL,
            "--host", host, "--port", String(port), "--rate", String(rate), "--hold-port", String(holdPort), "--hold", String(hold)],
        { cwd: REPO_ROOT, env: toolEnv(), stdio: ["pipe", "pipe", "pipe"] });
        let buffer = "";
        this.child.stdout.setEncoding("utf8");
        this.child.stdout.on("data", (chunk: string) => {
            buffer += chunk;
            let i: number;
            while ((i = buffer.indexOf("\n")) >= 0) {
                this.lines.push(buffer.slice(0, i));
                buffer = buffer.slice(i + 1);
                this.waiter?.();
            }
        });
        this.child.stderr.on("data", (d: Buffer) => process.stderr.write(`stream: ${d}`));
    }

    private async next<T>(): Promise<T> {
        while (this.lines.length === 0) await new Promise<void>(resolve => { this.waiter = resolve; });
        return JSON.parse(this.lines.shift() ?? "") as T;
    }

    ready(): Promise<{ held: number; ports: number[] }> {
        return this.next();
    }

    stop(): Promise<{ attempts: number; failures: number[]; closed: number[] }> {
        this.child.stdin.write("stop\n");
        return this.next();
    }
}
