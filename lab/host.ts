// The host as seen from outside any lab, before and after a run: the lab must leave nothing behind.
import { parseIptablesSave, withoutCounters } from "../proxy/iptablesSave";
import { run, which } from "./exec";

/** What the host looks like from outside any lab: namespaces, links, netfilter rules. */
export interface HostSnapshot {
    readonly namespaces: string[];
    readonly links: string[];
    readonly iptables: string[];
    readonly nft: string[];
}

export function hostSnapshot(): HostSnapshot {
    const lines = (s: string) => s.split("\n").map(l => l.trimEnd()).filter(l => l !== "");
    const namespaces = lines(run("ip", ["netns", "list"], { allowFailure: true }).stdout).map(l => l.split(/\s+/)[0]).sort();
    const links = lines(run("ip", ["-o", "link", "show"], { allowFailure: true }).stdout)
        .map(l => l.split(":")[1].trim().split("@")[0]).sort();
    // Not strict: the host may hold anyone's rules, with options this project never writes.
    const iptables = withoutCounters(parseIptablesSave(run("iptables-save", [], { allowFailure: true }).stdout, { strict: false }));
    const nft = which("nft") ? lines(run("nft", ["list", "ruleset"], { allowFailure: true }).stdout) : [];
    return { namespaces, links, iptables, nft };
}

/**
 * Differences between two snapshots, as readable lines; empty when the host is as it was. With ownPrefix,
 * namespaces that other runs (another lab, another tool) add or remove meanwhile are not counted.
 */
export function hostDifferences(before: HostSnapshot, after: HostSnapshot, ownPrefix?: string): string[] {
    const diff: string[] = [];
    for (const key of ["namespaces", "links", "iptables", "nft"] as const) {
        const counts = (x: string) => key !== "namespaces" || !ownPrefix || x.startsWith(`${ownPrefix}-`);
        const b = new Set(before[key]);
        const a = new Set(after[key]);
        for (const x of after[key]) if (!b.has(x) && counts(x)) diff.push(`extra ${key}: ${x}`);
        for (const x of before[key]) if (!a.has(x) && counts(x)) diff.push(`missing ${key}: ${x}`);
    }
    return diff;
}
