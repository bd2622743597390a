// Kernel counters around a measurement: what the TCP stacks and conntrack saw, as deltas per path.
// Parsers are pure (tested in tests/bench.test.ts); reading runs `nstat` and `conntrack` in a namespace.
import { inNs } from "../lab/exec";

export type Counters = Record<string, number>;

/** `nstat -asz` (absolute values, history untouched, zeros included): "TcpExtTW   42   0.0" per line. */
export function parseNstat(text: string): Counters {
    const out: Counters = {};
    for (const line of text.split("\n")) {
        const m = /^([A-Za-z][A-Za-z0-9]*)\s+(\d+)(\s|$)/.exec(line.trim());
        if (m) out[m[1]] = Number(m[2]);
    }
    return out;
}

/** `conntrack -S`: one "cpu=N found=.. insert_failed=.. drop=.." line per CPU, summed over CPUs. */
export function parseConntrackStats(text: string): Counters {
    const out: Counters = {};
    for (const line of text.split("\n")) {
        for (const m of line.matchAll(/(\w+)=(\d+)/g)) {
            if (m[1] !== "cpu") out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
        }
    }
    return out;
}

/** after - before, key by key (keys of `after`); a counter absent before counts from 0. */
export function delta(before: Counters, after: Counters): Counters {
    return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** Adds counters key by key (e.g. the clients' namespaces into one figure). */
export function sum(all: readonly Counters[]): Counters {
    const out: Counters = {};
    for (const c of all) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
    return out;
}

/** Only these keys (0 when missing), in this order. */
export function pick(c: Counters, keys: readonly string[]): Counters {
    return Object.fromEntries(keys.map(k => [k, c[k] ?? 0]));
}

/** The backend's view: PAWS rejections of SYNs that hit a TIME_WAIT socket, TIME_WAIT churn, resets. */
export const BACKEND_KEYS = ["TcpPassiveOpens", "TcpExtPAWSTimewait", "TcpExtPAWSEstab", "TcpExtTW", "TcpExtTWKilled",
    "TcpExtTWRecycled", "TcpExtTCPTimeWaitOverflow", "TcpOutRsts"] as const;
/** The clients' view: SYNs sent again (no answer, or an answer that was not a SYN-ACK), resets sent. */
export const CLIENT_KEYS = ["TcpActiveOpens", "TcpExtTCPSynRetrans", "TcpOutRsts", "TcpAttemptFails"] as const;
/** conntrack -S on the path's proxy: `found` counts NAT port-search collisions with existing entries. */
export const CONNTRACK_KEYS = ["found", "insert", "insert_failed", "drop", "early_drop", "clash_resolve", "invalid"] as const;

export function readNstat(ns: string): Counters {
    return parseNstat(inNs(ns, "nstat", ["-asz"]).stdout);
}

export function readConntrackStats(ns: string): Counters {
    return parseConntrackStats(inNs(ns, "conntrack", ["-S"], { allowFailure: true }).stdout);
}

/** Entries in the namespace's conntrack table now. */
export function conntrackCount(ns: string): number {
    return Number(inNs(ns, "conntrack", ["-C"], { allowFailure: true }).stdout.trim()) || 0;
}
