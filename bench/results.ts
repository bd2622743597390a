// The bench's figures: every measurement as it was taken (the JSON file), and the per-path summary the
// table, the chart and the targets read. Pure: tested in tests/bench.test.ts.
import { Counters, sum } from "./counters";
import { PathName } from "./options";
import { summarize, Summary } from "./stats";

export interface Measurement {
    readonly round: number;
    readonly path: PathName;
    /** 1-minute load average when the measurement started (other work on the machine shows here). */
    readonly load1: number;
    /** Sustained Connection: close load: completed requests (= new connections) per second. */
    readonly newConnPerSecond: number;
    readonly newConnErrors: number;
    readonly keepalivePerSecond: number;
    readonly keepaliveErrors: number;
    readonly bulkGbps: number;
    /** Counter deltas over the new-connection load. */
    readonly conntrack: Counters;
    /** Entries in the path's conntrack table at the end of the new-connection load. */
    readonly conntrackCount: number;
    readonly backend: Counters;
    readonly clients: Counters;
}

export interface Machine {
    readonly nproc: number;
    readonly kernel: string;
    readonly loadBefore: readonly number[];
    readonly loadAfter: readonly number[];
    readonly date: string;
}

export interface BenchResult {
    readonly command: string;
    readonly machine: Machine;
    readonly settings: Record<string, unknown>;
    readonly paths: ReadonlyArray<{ readonly name: PathName; readonly what: string }>;
    readonly measurements: readonly Measurement[];
}

export interface PathSummary {
    readonly path: PathName;
    readonly rounds: number;
    readonly newConn: Summary;
    readonly keepalive: Summary;
    readonly bulk: Summary;
    /** Medians as a fraction of the routed path's (undefined without a routed measurement). */
    readonly ratio: { readonly newConn?: number; readonly keepalive?: number; readonly bulk?: number };
    readonly errors: number;
    /** Counters summed over the rounds. */
    readonly conntrack: Counters;
    readonly backend: Counters;
    readonly clients: Counters;
    /** The path's conntrack table at the end of its last new-connection load. */
    readonly conntrackCountLast: number;
}

export function summarizeResult(result: BenchResult): PathSummary[] {
    const byPath = result.paths.map(p => ({ path: p.name, ms: result.measurements.filter(m => m.path === p.name) }))
        .filter(x => x.ms.length > 0);
    const base = byPath.map(({ path, ms }) => ({
        path,
        rounds: ms.length,
        newConn: summarize(ms.map(m => m.newConnPerSecond)),
        keepalive: summarize(ms.map(m => m.keepalivePerSecond)),
        bulk: summarize(ms.map(m => m.bulkGbps)),
        errors: ms.reduce((s, m) => s + m.newConnErrors + m.keepaliveErrors, 0),
        conntrack: sum(ms.map(m => m.conntrack)),
        backend: sum(ms.map(m => m.backend)),
        clients: sum(ms.map(m => m.clients)),
        conntrackCountLast: ms[ms.length - 1].conntrackCount,
    }));
    const routed = base.find(s => s.path === "routed");
    const ratio = (x: number, r?: number) => (r ? x / r : undefined);
    return base.map(s => ({
        ...s,
        ratio: {
            newConn: ratio(s.newConn.median, routed?.newConn.median),
            keepalive: ratio(s.keepalive.median, routed?.keepalive.median),
            bulk: ratio(s.bulk.median, routed?.bulk.median),
        },
    }));
}

export interface TargetCheck { readonly what: string; readonly ratio: number; readonly target: number; readonly met: boolean }

/** The targets for the rendered path, where both sides were measured. */
export function checkTargets(summary: readonly PathSummary[]): TargetCheck[] {
    const get = (p: PathName) => summary.find(s => s.path === p);
    const script = get("script");
    const routed = get("routed");
    const haproxy = get("haproxy");
    const out: TargetCheck[] = [];
    const add = (what: string, ratio: number, target: number) => out.push({ what, ratio, target, met: ratio >= target });
    if (script && routed) {
        add("script new conn/s vs routed", script.newConn.median / routed.newConn.median, 0.85);
        add("script keep-alive req/s vs routed", script.keepalive.median / routed.keepalive.median, 0.95);
        add("script bulk Gb/s vs routed", script.bulk.median / routed.bulk.median, 0.95);
    }
    if (script && haproxy) add("script new conn/s vs HAProxy", script.newConn.median / haproxy.newConn.median, 1.3);
    return out;
}

const n0 = (x: number) => Math.round(x).toLocaleString("en-US");
const pct = (x: number) => `${Math.round(100 * x)}%`;
const r2 = (x?: number) => (x === undefined ? "-" : `${x.toFixed(2)}x`);

/** The table printed at the end of a run and pasted into docs/benchmarks.md (Markdown). */
export function formatTable(summary: readonly PathSummary[]): string {
    const head = "| path | new conn/s (median, spread) | x routed | keep-alive req/s | x routed | bulk Gb/s | x routed | errors |";
    const rows = summary.map(s => `| ${s.path} | ${n0(s.newConn.median)} (±${pct(s.newConn.spread / 2)}) | ${r2(s.ratio.newConn)} | ` +
        `${n0(s.keepalive.median)} (±${pct(s.keepalive.spread / 2)}) | ${r2(s.ratio.keepalive)} | ` +
        `${s.bulk.median.toFixed(1)} (±${pct(s.bulk.spread / 2)}) | ${r2(s.ratio.bulk)} | ${s.errors} |`);
    const cHead = "| path | backend PAWSTimewait | backend TW | client SYN retrans | client RSTs | conntrack found | insert_failed | drop | early_drop | conntrack entries (last) |";
    const cRows = summary.map(s => `| ${s.path} | ${n0(s.backend.TcpExtPAWSTimewait ?? 0)} | ${n0(s.backend.TcpExtTW ?? 0)} | ` +
        `${n0(s.clients.TcpExtTCPSynRetrans ?? 0)} | ${n0(s.clients.TcpOutRsts ?? 0)} | ${n0(s.conntrack.found ?? 0)} | ` +
        `${n0(s.conntrack.insert_failed ?? 0)} | ${n0(s.conntrack.drop ?? 0)} | ${n0(s.conntrack.early_drop ?? 0)} | ${n0(s.conntrackCountLast)} |`);
    return [head, "|---|---|---|---|---|---|---|---|", ...rows, "", "Counters over the new-connection loads (all rounds):", "",
        cHead, "|---|---|---|---|---|---|---|---|---|---|", ...cRows].join("\n");
}
