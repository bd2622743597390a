// Reading a namespace's netfilter state back, in forms the tests can compare.
import { parseIptablesSave, Rule, rulesOf, Table } from "../proxy/iptablesSave";
import { CHAINS } from "../proxy/rules";
import { JUMP_COMMENT } from "../proxy/state";
import { inNs } from "./exec";

/** A namespace's rules as iptables-save prints them (no counters asked), read by the one strict parser. */
export function saveRules(ns: string): Table[] {
    return parseIptablesSave(inNs(ns, "iptables-save", []).stdout);
}

/** Packets counted by each DNAT rule of a nat chain, keyed by its --to-destination (new connections). */
export function dnatCounters(ns: string, chain: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const rule of rulesOf(parseIptablesSave(inNs(ns, "iptables-save", ["-c", "-t", "nat"]).stdout), "nat", chain)) {
        if (rule.toDestination === undefined) continue;
        counts.set(rule.toDestination, (counts.get(rule.toDestination) ?? 0) + (rule.counters?.packets ?? 0));
    }
    return counts;
}

export interface DestinationRule {
    readonly destination: string;
    /** The statistic match's probability as iptables prints it back; undefined for the unconditional rule. */
    readonly probability?: number;
}

/** CRPROXY-DESTINATIONS as installed: the DNAT target and probability of each rule, in order. */
export function installedDestinations(tables: readonly Table[]): DestinationRule[] {
    return rulesOf(tables, "nat", CHAINS.destinations).map(rule => {
        if (rule.jump !== "DNAT" || rule.toDestination === undefined) throw new Error(`not a DNAT rule: ${rule.line}`);
        return { destination: rule.toDestination, probability: rule.probability === undefined ? undefined : Number(rule.probability) };
    });
}

const OUR_CHAINS: ReadonlySet<string> = new Set(Object.values(CHAINS));

/** Is this rule one of ours (a rule of our chains, or the commented jump to one)? */
export const isOurs = (rule: Rule) => OUR_CHAINS.has(rule.chain) || (rule.comment === JUMP_COMMENT && OUR_CHAINS.has(rule.jump ?? ""));

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
    /** The client's port. */
    readonly origSport: number;
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
        const m = /^tcp\s+\d+\s+\d+\s+(\S+)\s+src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)\s+(?:\[\w+\]\s+)?src=(\S+) dst=(\S+) sport=\d+ dport=(\d+)/.exec(line);
        if (m) {
            entries.push({ state: m[1], origSrc: m[2], origDst: m[3], origSport: Number(m[4]), origDport: Number(m[5]),
                replySrc: m[6], replyDst: m[7], replyDport: Number(m[8]) });
        }
    }
    return entries;
}

/** For each client port of connections to DPORT, where NS sent it (the reply's source: a DNAT's destination). */
export function replySourceByClientPort(ns: string, dport: number): Map<number, string> {
    return new Map(conntrackEntries(ns, dport).map(e => [e.origSport, e.replySrc]));
}

/** New connections a proxy has proxied since its nat chains were last written (the CONNMARK rule's packets). */
export function proxiedConnections(ns: string): number {
    const rule = rulesOf(parseIptablesSave(inNs(ns, "iptables-save", ["-c", "-t", "nat"]).stdout), "nat", CHAINS.connect)
        .find(r => r.jump === "CONNMARK");
    return rule?.counters?.packets ?? 0;
}

/** A sysctl's value inside a namespace. */
export function sysctl(ns: string, key: string): string {
    return inNs(ns, "sysctl", ["-n", key]).stdout.trim();
}
