// Drivers of the tools the lab runs: the TCP load tool (lab/tools/tcp.ts) inside a namespace, and
// proxy:render exactly as a user runs it.
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "./constants";
import { inNs, run, RunResult } from "./exec";

const TCP_TOOL = path.join(__dirname, "tools", "tcp.ts");

/** argv of the lab's TCP tool (lab/tools/tcp.ts) under node + ts-node, for running inside a namespace. */
export function tcpToolArgv(mode: string, args: readonly string[]): string[] {
    return [process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), TCP_TOOL, mode, ...args];
}

/** ts-node must compile the tool with the repository's tsconfig whatever the working directory. */
export function toolEnv(): NodeJS.ProcessEnv {
    return { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") };
}

export interface BurstResult { readonly ok: number; readonly failed: number; readonly elapsedMs: number }

/** Opens `count` new connections from a namespace (each reset once established); returns the tally. */
export function burst(nsName: string, host: string, port: number, count: number, concurrency = 32, timeoutMs = 3000): BurstResult {
    const [cmd, ...args] = tcpToolArgv("burst", ["--host", host, "--port", String(port), "--count", String(count),
        "--concurrency", String(concurrency), "--timeout-ms", String(timeoutMs)]);
    const out = inNs(nsName, cmd, args, { cwd: REPO_ROOT, env: toolEnv(), timeoutMs: 600_000 }).stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(out) as BurstResult;
}

/** A connection-holding client in a namespace, driven line by line (see lab/tools/tcp.ts `hold`). */
export class HoldClient {
    private readonly child: ChildProcessWithoutNullStreams;
    private buffer = "";
    private waiters: Array<(line: string) => void> = [];

    constructor(nsName: string, host: string, port: number, timeoutMs: number) {
        const argv = tcpToolArgv("hold", ["--host", host, "--port", String(port), "--timeout-ms", String(timeoutMs)]);
        this.child = spawn("ip", ["netns", "exec", nsName, ...argv], { cwd: REPO_ROOT, env: toolEnv(), stdio: ["pipe", "pipe", "pipe"] });
        this.child.stdout.setEncoding("utf8");
        this.child.stdout.on("data", (chunk: string) => {
            this.buffer += chunk;
            let i: number;
            while ((i = this.buffer.indexOf("\n")) >= 0) {
                const line = this.buffer.slice(0, i);
                this.buffer = this.buffer.slice(i + 1);
                this.waiters.shift()?.(line);
            }
        });
        this.child.stderr.on("data", (d: Buffer) => process.stderr.write(`hold client: ${d}`));
    }

    send<T>(command: string): Promise<T> {
        return new Promise<T>(resolve => {
            this.waiters.push(line => resolve(JSON.parse(line) as T));
            this.child.stdin.write(`${command}\n`);
        });
    }

    stop(): void {
        try { this.child.stdin.end("exit\n"); } catch { /* gone */ }
        setTimeout(() => { try { this.child.kill("SIGKILL"); } catch { /* gone */ } }, 2000).unref();
    }
}

/** `npm run --silent proxy:render -- ARGS` from the repository root. */
export function renderCli(args: readonly string[]): RunResult {
    const npmCli = process.env.npm_execpath;
    const npmArgs = ["run", "--silent", "proxy:render", "--", ...args];
    return npmCli && fs.existsSync(npmCli) && /npm-cli\.js$/.test(npmCli)
        ? run(process.execPath, [npmCli, ...npmArgs], { allowFailure: true, cwd: REPO_ROOT })
        : run("npm", npmArgs, { allowFailure: true, cwd: REPO_ROOT });
}
