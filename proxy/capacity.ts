// The capacity model of the proxy a ForwardingSpec describes: how many proxies a load needs, and which
// limit binds first. Pure; docs/capacity.md explains it, the lab's NAT port tests measure it on a real
// kernel, and `npm run capacity` (scripts/capacity.ts) is its command line.
import { MAX_DESTINATIONS, MAX_PORTS, NAT_PORT_LIMITS, requireInteger } from "../core/validate";
import { CONNTRACK_MAX_LIMITS, DEFAULT_CONNTRACK_MAX, DEFAULT_TIME_WAIT_TIMEOUT_SECONDS, TIME_WAIT_TIMEOUT_LIMITS } from "./spec";

/** Ports MASQUERADE may use by default (NAT_PORT_LIMITS, 1024-65535): 64,512. */
export const DEFAULT_NAT_PORT_RANGE = NAT_PORT_LIMITS.to - NAT_PORT_LIMITS.from + 1;
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

/** Pure: the proxy count a load needs and the limit that binds first. Throws InvalidValueError naming the flag. */
export function planCapacity(raw: CapacityInput): CapacityPlan {
    const input: Required<CapacityInput> = {
        connections: requireInteger("--connections", raw.connections, 1, 1e12),
        destinations: requireInteger("--destinations", raw.destinations, 1, MAX_DESTINATIONS),
        portsPerDestination: requireInteger("--ports-per-destination", raw.portsPerDestination ?? 1, 1, MAX_PORTS),
        proxiesMin: requireInteger("--proxies-min", raw.proxiesMin ?? 2, 1, 10000),
        conntrackMax: requireInteger("--conntrack-max", raw.conntrackMax ?? DEFAULT_CONNTRACK_MAX, CONNTRACK_MAX_LIMITS.min, CONNTRACK_MAX_LIMITS.max),
        natPortRange: requireInteger("--nat-port-range", raw.natPortRange ?? DEFAULT_NAT_PORT_RANGE, 1, DEFAULT_NAT_PORT_RANGE),
        newPerSecond: requireInteger("--new-per-second", raw.newPerSecond ?? 0, 0, 1e9),
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
    requireInteger("--time-wait-timeout", timeWaitSeconds, TIME_WAIT_TIMEOUT_LIMITS.min, TIME_WAIT_TIMEOUT_LIMITS.max);
    const holdSeconds = Math.max(timeWaitSeconds, DESTINATION_TIME_WAIT_SECONDS);
    const perProxy = Math.floor(natPortRange * destinations * portsPerDestination / holdSeconds);
    return { holdSeconds, perProxy, proxies: Math.max(1, Math.ceil(newPerSecond / perProxy)) };
}

/**
 * The share of a proxy's limits its scaling targets aim at. A half: at the target, the smallest fleet (two
 * proxies) still carries the whole load within the limits after losing one, and the headroom covers the
 * minutes a scale-out takes (the policy's alarm, the launch, the warm-up).
 */
export const SCALING_HEADROOM = 0.5;

export interface ScalingTargetsInput {
    readonly destinations: number;
    readonly portsPerDestination?: number;
    readonly natPortRange?: number;
    readonly conntrackMax?: number;
    readonly timeWaitSeconds?: number;
}

export interface ScalingTargets {
    /** New proxied connections per second per proxy: the sustained-churn limit, and the target (headroom x limit). */
    readonly newConnectionsPerSecond: { readonly limit: number; readonly target: number };
    /**
     * Conntrack fill per proxy, in percent of nf_conntrack_max: the fill at which the first limit binds (the
     * usable NAT tuples when they run out before the table, else the table itself), and the target.
     */
    readonly conntrackUsedPercent: { readonly limit: number; readonly target: number };
}

/** Target-tracking targets for one proxy of this spec: the capacity model's limits times SCALING_HEADROOM. */
export function scalingTargets(input: ScalingTargetsInput): ScalingTargets {
    const plan = planCapacity({
        connections: 1, destinations: input.destinations, portsPerDestination: input.portsPerDestination,
        natPortRange: input.natPortRange, conntrackMax: input.conntrackMax,
    });
    const rate = sustainedNewPerSecond(0, plan.input.destinations, plan.input.portsPerDestination, plan.input.natPortRange,
        input.timeWaitSeconds ?? TIME_WAIT_SECONDS);
    const fillLimit = 100 * plan.perProxy / plan.conntrackPerProxy;
    return {
        newConnectionsPerSecond: { limit: rate.perProxy, target: Math.max(1, Math.floor(rate.perProxy * SCALING_HEADROOM)) },
        conntrackUsedPercent: { limit: Math.floor(fillLimit * 10) / 10, target: Math.max(1, Math.floor(fillLimit * SCALING_HEADROOM)) },
    };
}
