// Reading a namespace's netfilter state back, in forms the tests can compare.
import { inNs } from "./exec";

/** `iptables-save` (no counters asked), minus the `# Generated/Completed` comments and policy counters. */
export function saveRules(ns: string): string[] {
    return normalizeSave(inNs(ns, "iptables-save", []).stdout);
}

export function normalizeSave(text: string): string[] {
    return text.split("\n")
        .filter(l => l.trim() !== "" && !l.startsWith("#"))
        .map(l => l.replace(/\s*\[\d+:\d+\]\s*$/, "").replace(/^\[\d+:\d+\]\s*/, ""));
}

/** The `-A CHAIN ...` lines of one chain of one table, in order. */
export function chainRules(lines: readonly string[], table: string, chain: string): string[] {
    const rules: string[] = [];
    let current = "";
    for (const line of lines) {
        if (line.startsWith("*")) current = line.slice(1);
        else if (current === table && line.startsWith(`-A ${chain} `)) rules.push(line);
    }
    return rules;
}

/** Chains declared in a table (`:NAME POLICY`), builtin and user-defined. */
export function chainNames(lines: readonly string[], table: string): string[] {
    const names: string[] = [];
    let current = "";
    for (const line of lines) {
        if (line.startsWith("*")) current = line.slice(1);
        else if (current === table && line.startsWith(":")) names.push(line.slice(1).split(/\s+/)[0]);
    }
    return names;
}

export interface DestinationRule {
    readonly destination: string;
    /** The statistic match's probability as iptables prints it back; undefined for the unconditional rule. */
    readonly probability?: number;
}

/** CRPROXY-DESTINATIONS as installed: the DNAT target and probability of each rule, in order. */
export function installedDestinations(lines: readonly string[]): DestinationRule[] {
    return chainRules(lines, "nat", "CRPROXY-DESTINATIONS").map(rule => {
        const dest = /--to-destination (\S+)/.exec(rule);
        const p = /--probability (\S+)/.exec(rule);
        if (!dest) throw new Error(`not a DNAT rule: ${rule}`);
        return { destination: dest[1], probability: p ? Number(p[1]) : undefined };
    });
}

/** Is this rule one of ours (a CRPROXY chain's rule or a jump to one)? */
export const isOurs = (rule: string) => /CRPROXY-/.test(rule) || /--comment "?cross-region-proxy"?/.test(rule);

/** The conntrack statistics summed over CPUs (`conntrack -S`). */
export function conntrackStats(ns: string): Record<string, number> {
    const sums: Record<string, number> = {};
    for (const line of inNs(ns, "conntrack", ["-S"]).stdout.split("\n")) {
        for (const m of line.matchAll(/(\w+)=(\d+)/g)) {
            if (m[1] !== "cpu") sums[m[1]] = (sums[m[1]] ?? 0) + Number(m[2]);
        }
    }
    return sums;
}

export interface ConntrackEntry {
    readonly state: string;
    readonly origSrc: string;
    readonly origDst: string;
    readonly origDport: number;
    readonly replySrc: string;
    readonly replyDst: string;
    /** The port the reply is addressed to: the NAT source port chosen by MASQUERADE. */
    readonly replyDport: number;
}

/** TCP conntrack entries of a namespace, optionally only those to one original destination port. */
export function conntrackEntries(ns: string, dport?: number): ConntrackEntry[] {
    const args = ["-L", "-p", "tcp", ...(dport === undefined ? [] : ["--dport", String(dport)])];
    const out = inNs(ns, "conntrack", args, { allowFailure: true }).stdout;
    const entries: ConntrackEntry[] = [];
    for (const line of out.split("\n")) {
        const m = /^tcp\s+\d+\s+\d+\s+(\S+)\s+src=(\S+) dst=(\S+) sport=\d+ dport=(\d+)\s+(?:\[\w+\]\s+)?src=(\S+) dst=(\S+) sport=\d+ dport=(\d+)/.exec(line);
        if (m) {
            entries.push({ state: m[1], origSrc: m[2], origDst: m[3], origDport: Number(m[4]),
                replySrc: m[5], replyDst: m[6], replyDport: Number(m[7]) });
        }
    }
    return entries;
}

/** A sysctl's value inside a namespace. */
export function sysctl(ns: string, key: string): string {
    return inNs(ns, "sysctl", ["-n", key]).stdout.trim();
}
