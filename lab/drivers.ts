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

const STREAM_TOOL = path.join(__dirname, "tools", "stream.ts");

/** argv of the agent tests' steady stream of new connections (lab/tools/stream.ts), for running inside a namespace. */
export function streamToolArgv(host: string, port: number, rate: number, holdPort: number, hold: number): string[] {
    return [process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), STREAM_TOOL,
        "--host", host, "--port", String(port), "--rate", String(rate), "--hold-port", String(holdPort), "--hold", String(hold)];
}

/**
 * A lab tool running in a namespace, driven over stdin: each line it prints is one JSON value, read in order
 * (lines it prints unasked, such as a first report, wait for the next read).
 */
export class LineTool {
    private readonly child: ChildProcessWithoutNullStreams;
    private readonly lines: string[] = [];
    private waiter?: () => void;

    constructor(nsName: string, argv: readonly string[]) {
        this.child = spawn("ip", ["netns", "exec", nsName, ...argv], { cwd: REPO_ROOT, env: toolEnv(), stdio: ["pipe", "pipe", "pipe"] });
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
        this.child.stderr.on("data", (d: Buffer) => process.stderr.write(`${path.basename(argv[3] ?? argv[0])}: ${d}`));
    }

    /** The next line the tool prints, parsed. */
    async next<T>(): Promise<T> {
        while (this.lines.length === 0) await new Promise<void>(resolve => { this.waiter = resolve; });
        return JSON.parse(this.lines.shift() ?? "") as T;
    }

    /** Sends one command and reads the line it answers with. */
    send<T>(command: string): Promise<T> {
        this.child.stdin.write(`${command}\n`);
        return this.next<T>();
    }

    stop(): void {
        try { this.child.stdin.end("exit\n"); } catch { /* gone */ }
        setTimeout(() => { try { this.child.kill("SIGKILL"); } catch { /* gone */ } }, 2000).unref();
    }
}

/** A connection-holding client in a namespace, driven line by line (see lab/tools/tcp.ts `hold`). */
export class HoldClient extends LineTool {
    constructor(nsName: string, host: string, port: number, timeoutMs: number) {
        super(nsName, tcpToolArgv("hold", ["--host", host, "--port", String(port), "--timeout-ms", String(timeoutMs)]));
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
