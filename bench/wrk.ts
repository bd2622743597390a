// HTTP load with wrk (C, Debian package wrk): one wrk per client namespace, all at once, so the load
// comes from many client addresses as NLB-2 presents many CloudFront edge addresses to a proxy.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A wrk Lua script: fixed headers, and a one-line JSON summary at the end that the bench parses. */
export function wrkScript(host: string, connectionClose: boolean): string {
    if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`bad Host header '${host}'`);
    return [
        `wrk.headers["Host"] = "${host}"`,
        ...(connectionClose ? [`wrk.headers["Connection"] = "close"`] : []),
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        "  io.write(string.format('WRK-SUMMARY {\"requests\":%d,\"durationUs\":%d,\"bytes\":%d,\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}\\n',",
        "    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))",
        "end",
        "",
    ].join("\n");
}

export interface WrkSummary {
    readonly requests: number;
    readonly durationUs: number;
    readonly bytes: number;
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly status: number;
    readonly timeout: number;
}

/** The summary line our Lua script prints; throws with wrk's output when it is missing. */
export function parseWrkOutput(text: string): WrkSummary {
    const line = text.split("\n").find(l => l.startsWith("WRK-SUMMARY "));
    if (!line) throw new Error(`wrk printed no summary:\n${text.slice(-1000)}`);
    return JSON.parse(line.slice("WRK-SUMMARY ".length)) as WrkSummary;
}

export interface LoadResult {
    /** Completed requests per second over all clients (the longest client's duration). */
    readonly perSecond: number;
    readonly requests: number;
    /** Socket errors and non-2xx answers over all clients. */
    readonly errors: number;
}

/** Adds the clients' summaries: requests over the longest duration, all errors. */
export function combine(summaries: readonly WrkSummary[]): LoadResult {
    const requests = summaries.reduce((s, x) => s + x.requests, 0);
    const seconds = Math.max(...summaries.map(x => x.durationUs)) / 1e6;
    const errors = summaries.reduce((s, x) => s + x.connect + x.read + x.write + x.status + x.timeout, 0);
    return { perSecond: seconds > 0 ? requests / seconds : 0, requests, errors };
}

export interface WrkJob { readonly ns: string; readonly url: string }

/** Runs one wrk (1 thread, `connections` connections) per job at the same time; resolves with the total. */
export async function runWrk(jobs: readonly WrkJob[], script: string, connections: number, seconds: number): Promise<LoadResult> {
    const outputs = await Promise.all(jobs.map(job => new Promise<string>((resolve, reject) => {
        const child = spawn("ip", ["netns", "exec", job.ns, "wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s",
            "-s", script, job.url], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
        child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
        const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
        child.on("error", reject);
        child.on("close", () => { clearTimeout(timer); resolve(out); });
    })));
    return combine(outputs.map(parseWrkOutput));
}

/** Writes the Lua script once per kind of load into the lab's directory. */
export function writeWrkScript(dir: string, name: string, host: string, connectionClose: boolean): string {
    const file = path.join(dir, `wrk-${name}.lua`);
    fs.writeFileSync(file, wrkScript(host, connectionClose));
    return file;
}
