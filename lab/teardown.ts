// Removing a lab: every process in its namespaces, the namespaces, its directory; and the registry that
// removes this process's live labs on exit or on a signal.
import * as fs from "node:fs";
import { run, sleep } from "./exec";

/** Namespaces on the host whose name starts with the given prefix. */
export function namespacesWithPrefix(prefix: string): string[] {
    const out = run("ip", ["netns", "list"], { allowFailure: true }).stdout;
    return out.split("\n").map(l => l.trim().split(/\s+/)[0]).filter(n => n && n.startsWith(`${prefix}-`));
}

/** Kills every process inside the run's namespaces (by pid), deletes the namespaces and the directory. */
export function teardown(prefix: string, dir?: string): string[] {
    const problems: string[] = [];
    const namespaces = namespacesWithPrefix(prefix);
    const pids = new Set<number>();
    for (const name of namespaces) {
        const out = run("ip", ["netns", "pids", name], { allowFailure: true }).stdout;
        for (const p of out.split(/\s+/).filter(Boolean)) pids.add(Number(p));
    }
    const alive = (pid: number) => {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            return !/^\d+ \(.*\) Z/.test(stat);
        } catch {
            return false;
        }
    };
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        for (const pid of pids) {
            try { if (alive(pid)) process.kill(pid, signal); } catch { /* already gone */ }
        }
        const deadline = Date.now() + 3000;
        while ([...pids].some(alive) && Date.now() < deadline) sleep(50);
    }
    for (const name of namespaces) {
        const r = run("ip", ["netns", "del", name], { allowFailure: true });
        if (r.status !== 0) problems.push(`ip netns del ${name}: ${r.stderr.trim()}`);
    }
    if (dir && fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
    const left = namespacesWithPrefix(prefix);
    if (left.length) problems.push(`namespaces left: ${left.join(" ")}`);
    return problems;
}

// Every live lab of this process, removed on exit, Ctrl-C, SIGTERM or SIGHUP whatever else happens.
interface Removable { destroy(): void }
const active = new Set<Removable>();
let handlersInstalled = false;

/**
 * Removes the lab when this process exits or receives SIGINT, SIGTERM or SIGHUP. On a signal the handler
 * removes every live lab, then lets the process die of that same signal as it would without a handler
 * (process.exit is never called here): under mocha the run stops as a Ctrl-C stops it, and a CLI's caller
 * sees the signal in the exit status.
 */
export function registerActive(lab: Removable): void {
    active.add(lab);
    if (handlersInstalled) return;
    handlersInstalled = true;
    process.on("exit", destroyActiveLabs);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            process.stderr.write(`\n${signal}: removing the lab\n`);
            destroyActiveLabs();
            process.kill(process.pid, signal);
        });
    }
}

export function unregisterActive(lab: Removable): void {
    active.delete(lab);
}

export function destroyActiveLabs(): void {
    for (const lab of [...active]) {
        try { lab.destroy(); } catch (err) { process.stderr.write(`cleanup: ${(err as Error).message}\n`); }
    }
}

/** Keeps a lab alive after this process exits (npm run lab -- --keep). */
export function detach(lab: Removable): void {
    active.delete(lab);
}
