// npm run capacity -- --connections 500000 --destinations 3 [--proxies-min 2] [--ports-per-destination 1]
//                     [--conntrack-max 262144] [--nat-port-range 64512] [--new-per-second 0] [--json]
//
// How many iptables proxies a load needs, and which limit binds first. See docs/capacity.md for the model;
// the forwarding lab (npm run test:lab, test 8) measures the NAT limit on a real kernel.
import { parseArgs } from "node:util";
import { DEFAULT_TIME_WAIT_TIMEOUT_SECONDS } from "../proxy/spec";

/** Ports MASQUERADE may use by default: 1024-65535. */
export const DEFAULT_NAT_PORT_RANGE = 64512;
/** The kernel's default (and our user-data's) nf_conntrack_max. */
export const DEFAULT_CONNTRACK_MAX = 262144;
/** nf_conntrack_tcp_timeout_time_wait as the proxy sets it: a closed connection keeps its entry (and NAT port) this long. */
export const TIME_WAIT_SECONDS = DEFAULT_TIME_WAIT_TIMEOUT_SECONDS;
/** A Linux destination keeps a closed connection's 4-tuple in TIME_WAIT this long (TCP_TIMEWAIT_LEN). */
export const DESTINATION_TIME_WAIT_SECONDS = 60;
/** nf_nat_l4proto_unique_tuple tries 128 + 64 + 32 + 16 + 8 ports before it gives up (kernels since 2018). */
export const NAT_PORT_SEARCH_TRIES = 248;
/** A range this small is searched whole in the first round: allocation fails only when every port is taken. */
export const NAT_PORT_SEARCH_FIRST_ROUND = 128;
/** Plan for at most this chance that a new connection finds no NAT port (insert_failed, dropped SYN). */
export const PORT_SEARCH_FAILURE_BUDGET = 0.001;
/** The NAT utilization at which the bounded search fails that often: 0.001^(1/248) ≈ 0.9725. */
export const NAT_USABLE_FRACTION = Math.pow(PORT_SEARCH_FAILURE_BUDGET, 1 / NAT_PORT_SEARCH_TRIES);
export const MAX_DESTINATIONS = 32;

export interface CapacityInput {
    /** Concurrent connections the fleet must carry (established and closing). */
    readonly connections: number;
    /** NLB-1 addresses the proxies spread over. */
    readonly destinations: number;
    /** Listener ports that carry the load evenly (a port without traffic adds nothing). Default 1. */
    readonly portsPerDestination?: number;
    /** Fewest proxies to run whatever the load (availability). Default 2. */
    readonly proxiesMin?: number;
    readonly conntrackMax?: number;
    /** Size of the MASQUERADE port range (--nat-ports LO-HI gives HI - LO + 1). */
    readonly natPortRange?: number;
    /** New connections per second: each closed one holds a conntrack entry and its NAT port in TIME_WAIT. */
    readonly newPerSecond?: number;
}

export type Limit = "nat-ports" | "conntrack";

export interface CapacityPlan {
    readonly input: Required<CapacityInput>;
    /** Connections to hold at once: the target plus TIME_WAIT entries (newPerSecond x TIME_WAIT_SECONDS). */
    readonly concurrent: number;
    readonly timeWait: number;
    /** Unique (proxy address, NAT port, destination address, destination port) tuples one proxy has. */
    readonly natTuplesPerProxy: number;
    /** The part of them usable before the bounded port search fails more often than the budget (0.1 %). */
    readonly natUsablePerProxy: number;
    readonly conntrackPerProxy: number;
    /** Connections one proxy holds: the smaller of the two limits. */
    readonly perProxy: number;
    /** The limit that binds first on one proxy (both when they are equal). */
    readonly binding: readonly Limit[];
    /** Proxies the load alone needs, and what to run (never fewer than proxiesMin). */
    readonly proxiesForLoad: number;
    readonly proxies: number;
    /** What decides the proxy count: the load, or the availability minimum. */
    readonly decidedBy: "load" | "proxies-min";
    /** Per proxy at the planned count, as fractions of each limit. */
    readonly natUtilization: number;
    readonly conntrackUtilization: number;
    /** Chance that a new connection finds no free port in the kernel's bounded search at that utilization. */
    readonly portSearchFailure: number;
    /** Proxies needed to still carry the load with one proxy lost. */
    readonly proxiesWithOneLost: number;
}

export class CapacityInputError extends Error {
    constructor(readonly flag: string, detail: string) {
        super(`${flag}: ${detail}`);
        this.name = "CapacityInputError";
    }
}

function requireInt(flag: string, value: number, min: number, max: number): number {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw new CapacityInputError(flag, `expected an integer from ${min} to ${max}, got ${value}`);
    }
    return value;
}

/**
 * Chance that the kernel's bounded search finds no free NAT port for a new connection when a fraction
 * `utilization` of the range (towards one destination address and port) is taken. Ports in use are
 * scattered at random (--random-fully), so each try hits a used port with probability `utilization`;
 * a range of at most 128 ports is searched whole, so it fails only when full.
 */
export function portSearchFailure(utilization: number, rangeSize: number): number {
    if (utilization >= 1) return 1;
    if (rangeSize <= NAT_PORT_SEARCH_FIRST_ROUND) return 0;
    return Math.pow(utilization, NAT_PORT_SEARCH_TRIES);
}

/** Pure: the proxy count a load needs and the limit that binds first. Throws CapacityInputError. */
export function planCapacity(raw: CapacityInput): CapacityPlan {
    const input: Required<CapacityInput> = {
        connections: requireInt("--connections", raw.connections, 1, 1e12),
        destinations: requireInt("--destinations", raw.destinations, 1, MAX_DESTINATIONS),
        portsPerDestination: requireInt("--ports-per-destination", raw.portsPerDestination ?? 1, 1, 16),
        proxiesMin: requireInt("--proxies-min", raw.proxiesMin ?? 2, 1, 10000),
        conntrackMax: requireInt("--conntrack-max", raw.conntrackMax ?? DEFAULT_CONNTRACK_MAX, 1024, 16777216),
        natPortRange: requireInt("--nat-port-range", raw.natPortRange ?? DEFAULT_NAT_PORT_RANGE, 1, DEFAULT_NAT_PORT_RANGE),
        newPerSecond: requireInt("--new-per-second", raw.newPerSecond ?? 0, 0, 1e9),
    };
    const timeWait = input.newPerSecond * TIME_WAIT_SECONDS;
    const concurrent = input.connections + timeWait;
    const natTuplesPerProxy = input.natPortRange * input.destinations * input.portsPerDestination;
    const natUsablePerProxy = input.natPortRange <= NAT_PORT_SEARCH_FIRST_ROUND
        ? natTuplesPerProxy : Math.floor(natTuplesPerProxy * NAT_USABLE_FRACTION);
    const conntrackPerProxy = input.conntrackMax;
    const perProxy = Math.min(natUsablePerProxy, conntrackPerProxy);
    const binding: Limit[] = [];
    if (natUsablePerProxy === perProxy) binding.push("nat-ports");
    if (conntrackPerProxy === perProxy) binding.push("conntrack");
    const proxiesForLoad = Math.ceil(concurrent / perProxy);
    const proxies = Math.max(input.proxiesMin, proxiesForLoad);
    const each = concurrent / proxies;
    const natUtilization = each / natTuplesPerProxy;
    return {
        input,
        concurrent,
        timeWait,
        natTuplesPerProxy,
        natUsablePerProxy,
        conntrackPerProxy,
        perProxy,
        binding,
        proxiesForLoad,
        proxies,
        decidedBy: proxiesForLoad >= input.proxiesMin ? "load" : "proxies-min",
        natUtilization,
        conntrackUtilization: each / conntrackPerProxy,
        portSearchFailure: portSearchFailure(natUtilization, input.natPortRange),
        proxiesWithOneLost: Math.max(input.proxiesMin, proxiesForLoad + 1),
    };
}

export interface SustainedRate {
    /** Seconds a NAT tuple stays unusable after its connection closed: the longer of the two TIME_WAITs. */
    readonly holdSeconds: number;
    /** New connections per second one proxy can NAT without end: every tuple towards its destinations, once per hold. */
    readonly perProxy: number;
    /** Proxies that rate needs (never fewer than 1). */
    readonly proxies: number;
}

/**
 * The sustained-churn limit (docs/benchmarks.md): a NAT tuple (proxy IP, port, destination IP, port) is
 * reusable only when the proxy's conntrack entry is gone (timeWaitSeconds) and the destination's TIME_WAIT
 * socket is gone (60 s): reused earlier, the destination refuses the SYN (PAWS, another client's timestamp)
 * or the port search fails, and the client waits 1 s to retry. Per proxy: R x N x P / hold, a rate.
 */
export function sustainedNewPerSecond(newPerSecond: number, destinations: number, portsPerDestination = 1,
    natPortRange = DEFAULT_NAT_PORT_RANGE, timeWaitSeconds = TIME_WAIT_SECONDS): SustainedRate {
    requireInt("--time-wait-timeout", timeWaitSeconds, 1, 432000);
    const holdSeconds = Math.max(timeWaitSeconds, DESTINATION_TIME_WAIT_SECONDS);
    const perProxy = Math.floor(natPortRange * destinations * portsPerDestination / holdSeconds);
    return { holdSeconds, perProxy, proxies: Math.max(1, Math.ceil(newPerSecond / perProxy)) };
}

export function formatSustained(newPerSecond: number, plan: CapacityPlan, rate: SustainedRate): string {
    const i = plan.input;
    return `Sustained churn: one proxy NATs at most ${n(rate.perProxy)} new connections/s (${n(i.natPortRange)} ports x ${i.destinations} destinations` +
        ` x ${i.portsPerDestination} port${i.portsPerDestination > 1 ? "s" : ""} / ${rate.holdSeconds} s, the time a closed connection's tuple stays unusable);` +
        ` ${n(newPerSecond)}/s needs ${rate.proxies} prox${rate.proxies > 1 ? "ies" : "y"}${rate.proxies > plan.proxies ? `: MORE than the ${plan.proxies} above, run ${rate.proxies}` : ""}.\n` +
        "Above that rate new connections wait 1 s each for a SYN retransmission (PAWS at the destination, see docs/benchmarks.md).\n";
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");
const probability = (p: number) => (p < 1e-12 ? "< 1e-12" : p.toPrecision(2));
const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 || (x > 0.9 && x < 1) ? 1 : 0)} %`;

export function formatPlan(plan: CapacityPlan): string {
    const i = plan.input;
    const ports = `${i.portsPerDestination} port${i.portsPerDestination > 1 ? "s" : ""}`;
    const limitName = (l: Limit) => (l === "nat-ports" ? "the NAT port space" : "the conntrack table");
    const lines = [
        `Load: ${n(i.connections)} concurrent connections${plan.timeWait ? ` + ${n(plan.timeWait)} in TIME_WAIT (${n(i.newPerSecond)}/s x ${TIME_WAIT_SECONDS} s) = ${n(plan.concurrent)}` : ""}` +
        ` over ${i.destinations} destination${i.destinations > 1 ? "s" : ""} x ${ports}`,
        "One proxy holds at most:",
        `  NAT tuples  ${n(i.natPortRange)} ports x ${i.destinations} destinations x ${ports} = ${n(plan.natTuplesPerProxy)}` +
        "   (one (proxy IP, port, destination IP, destination port) each)",
        ...(plan.natUsablePerProxy < plan.natTuplesPerProxy
            ? [`              of which ${n(plan.natUsablePerProxy)} usable: above ${pct(NAT_USABLE_FRACTION)} the kernel's ${NAT_PORT_SEARCH_TRIES}-try port search fails > ${PORT_SEARCH_FAILURE_BUDGET * 100} % of new connections`]
            : []),
        `  conntrack   nf_conntrack_max = ${n(plan.conntrackPerProxy)}   (one entry per proxied connection)`,
        `  => ${n(plan.perProxy)} connections per proxy: ${plan.binding.map(limitName).join(" and ")} bind${plan.binding.length > 1 ? "" : "s"} first`,
        `Proxies: ${plan.proxies}` + (plan.decidedBy === "load"
            ? ` (ceil(${n(plan.concurrent)} / ${n(plan.perProxy)}) = ${plan.proxiesForLoad}; minimum ${i.proxiesMin})`
            : ` (the availability minimum; the load alone needs ${plan.proxiesForLoad})`),
        `At ${plan.proxies} proxies each holds ${n(plan.concurrent / plan.proxies)}: ${pct(plan.natUtilization)} of its NAT tuples, ${pct(plan.conntrackUtilization)} of its conntrack table.`,
        i.natPortRange <= NAT_PORT_SEARCH_FIRST_ROUND
            ? `Port search: the ${i.natPortRange}-port range is searched whole, so a new connection fails only when every port towards its destination is taken.`
            : `Bounded port search: a new connection finds no free port in ${NAT_PORT_SEARCH_TRIES} tries with probability ${probability(plan.portSearchFailure)}` +
              " (counted as insert_failed).",
        `To survive losing one proxy at this load, run ${plan.proxiesWithOneLost}.`,
    ];
    return `${lines.join("\n")}\n`;
}

const USAGE = `usage: npm run capacity -- --connections N --destinations N [--proxies-min 2] [--ports-per-destination 1]
                          [--conntrack-max 262144] [--nat-port-range 64512] [--new-per-second 0]
                          [--time-wait-timeout ${DEFAULT_TIME_WAIT_TIMEOUT_SECONDS}] [--json]`;

const FLAGS = ["connections", "destinations", "proxies-min", "ports-per-destination", "conntrack-max", "nat-port-range", "new-per-second",
    "time-wait-timeout"] as const;

export function parseCapacityArgs(argv: readonly string[]): { input: CapacityInput; json: boolean; timeWaitSeconds?: number } {
    const { values, positionals } = parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: true,
        options: {
            ...Object.fromEntries(FLAGS.map(f => [f, { type: "string" as const }])),
            json: { type: "boolean" as const, default: false },
        },
    });
    if (positionals.length) throw new CapacityInputError(positionals[0], "unexpected argument");
    const v = values as Record<string, string | boolean | undefined>;
    const num = (flag: string): number | undefined => {
        const s = v[flag];
        if (s === undefined) return undefined;
        if (typeof s !== "string" || !/^[0-9]+$/.test(s)) throw new CapacityInputError(`--${flag}`, `expected a whole number, got '${s}'`);
        return Number(s);
    };
    for (const required of ["connections", "destinations"]) {
        if (v[required] === undefined) throw new CapacityInputError(`--${required}`, "is required");
    }
    return {
        input: {
            connections: num("connections")!,
            destinations: num("destinations")!,
            proxiesMin: num("proxies-min"),
            portsPerDestination: num("ports-per-destination"),
            conntrackMax: num("conntrack-max"),
            natPortRange: num("nat-port-range"),
            newPerSecond: num("new-per-second"),
        },
        json: v.json === true,
        timeWaitSeconds: num("time-wait-timeout"),
    };
}

export function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
    try {
        const { input, json, timeWaitSeconds } = parseCapacityArgs(argv);
        const plan = planCapacity(input);
        const i = plan.input;
        const rate = i.newPerSecond > 0
            ? sustainedNewPerSecond(i.newPerSecond, i.destinations, i.portsPerDestination, i.natPortRange, timeWaitSeconds) : undefined;
        out(json ? `${JSON.stringify({ ...plan, sustained: rate }, null, 2)}\n`
            : formatPlan(plan) + (rate ? formatSustained(i.newPerSecond, plan, rate) : ""));
        return 0;
    } catch (e) {
        const known = e instanceof CapacityInputError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
        err(`capacity: ${(e as Error).message}\n${USAGE}\n`);
        return known ? 2 : 1;
    }
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2), s => process.stdout.write(s), s => process.stderr.write(s));
}
