// Process helpers for the lab. Every command is an argument vector (execFile/spawn, never a shell
// string), so no value the lab computes can be reinterpreted by a shell.
import { spawn, spawnSync, SpawnOptions } from "node:child_process";
import * as fs from "node:fs";

export interface RunResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RunOptions {
    /** Written to the command's stdin. */
    readonly input?: string;
    /** Do not throw on a non-zero exit status (the caller inspects `status`). */
    readonly allowFailure?: boolean;
    readonly timeoutMs?: number;
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
}

export class CommandError extends Error {
    constructor(readonly argv: readonly string[], readonly result: RunResult) {
        super(`command failed (exit ${result.status}): ${argv.join(" ")}\n${result.stderr.trim() || result.stdout.trim()}`);
        this.name = "CommandError";
    }
}

/** Runs a command to completion. Throws CommandError on a non-zero exit unless allowFailure. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): RunResult {
    const child = spawnSync(cmd, args, {
        input: options.input,
        encoding: "utf8",
        timeout: options.timeoutMs ?? 120_000,
        env: options.env ?? process.env,
        cwd: options.cwd,
        maxBuffer: 256 * 1024 * 1024,
        stdio: ["pipe", "pipe", "pipe"],
    });
    if (child.error) {
        throw new Error(`cannot run ${cmd} ${args.join(" ")}: ${child.error.message}`);
    }
    const result: RunResult = {
        status: child.status ?? (child.signal ? 128 : 1),
        stdout: child.stdout ?? "",
        stderr: child.stderr ?? "",
    };
    if (result.status !== 0 && !options.allowFailure) {
        throw new CommandError([cmd, ...args], result);
    }
    return result;
}

/** Runs a command inside a network namespace (`ip netns exec NS cmd args...`). */
export function inNs(ns: string, cmd: string, args: readonly string[], options: RunOptions = {}): RunResult {
    return run("ip", ["netns", "exec", ns, cmd, ...args], options);
}

/** Starts a long-running command inside a namespace, its output appended to logFile. Returns its pid. */
export function startInNs(ns: string, cmd: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): number {
    const fd = fs.openSync(logFile, "a");
    const options: SpawnOptions = {
        // Own process group: a Ctrl-C on the terminal reaches the lab's handler, which stops these itself.
        detached: true,
        stdio: ["ignore", fd, fd],
        env: env ?? process.env,
    };
    const child = spawn("ip", ["netns", "exec", ns, cmd, ...args], options);
    fs.closeSync(fd);
    if (child.pid === undefined) {
        throw new Error(`cannot start ${cmd} in ${ns}`);
    }
    child.unref();
    return child.pid;
}

/** Is an executable on PATH (or an absolute path that exists)? */
export function which(cmd: string): string | undefined {
    if (cmd.includes("/")) {
        return fs.existsSync(cmd) ? cmd : undefined;
    }
    const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
    for (const dir of dirs) {
        const candidate = `${dir}/${cmd}`;
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            // next
        }
    }
    return undefined;
}

export function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function isRoot(): boolean {
    return typeof process.getuid === "function" && process.getuid() === 0;
}
