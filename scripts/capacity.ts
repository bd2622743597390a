// npm run capacity -- --connections 500000 --destinations 3 [--proxies-min 2] [--ports-per-destination 1]
//                     [--conntrack-max 262144] [--nat-port-range 64512] [--new-per-second 0] [--time-wait-timeout 70] [--json] [--help]
//
// The command line of the capacity model (proxy/capacity.ts): how many iptables proxies a load needs, which
// limit binds first, and the scaling targets that spec gives. See docs/capacity.md; the forwarding lab's NAT
// port tests measure the limit.
import { isUsageError, parseFlags } from "../core/cli";
import { InvalidValueError } from "../core/validate";
import {
    CapacityInput, CapacityPlan, DEFAULT_NAT_PORT_RANGE, Limit, NAT_PORT_SEARCH_FIRST_ROUND, NAT_PORT_SEARCH_TRIES,
    NAT_USABLE_FRACTION, planCapacity, PORT_SEARCH_FAILURE_BUDGET, SCALING_HEADROOM, ScalingTargets, scalingTargets, SustainedRate,
    sustainedNewPerSecond, TIME_WAIT_SECONDS,
} from "../proxy/capacity";
import { DEFAULT_CONNTRACK_MAX, DEFAULT_TIME_WAIT_TIMEOUT_SECONDS } from "../proxy/spec";

export function formatSustained(newPerSecond: number, plan: CapacityPlan, rate: SustainedRate): string {
    const i = plan.input;
    return `Sustained churn: one proxy NATs at most ${n(rate.perProxy)} new connections/s (${n(i.natPortRange)} ports x ${i.destinations} destinations` +
        ` x ${i.portsPerDestination} port${i.portsPerDestination > 1 ? "s" : ""} / ${rate.holdSeconds} s, the time a closed connection's tuple stays unusable);` +
        ` ${n(newPerSecond)}/s needs ${rate.proxies} prox${rate.proxies > 1 ? "ies" : "y"}${rate.proxies > plan.proxies ? `: MORE than the ${plan.proxies} above, run ${rate.proxies}` : ""}.\n` +
        "Above that rate new connections wait 1 s each for a SYN retransmission (PAWS at the destination, see docs/benchmarks.md).\n";
}

/** The target-tracking targets this spec gives (the china stack's defaults for proxyScaling). */
export function formatScaling(plan: CapacityPlan, targets: ScalingTargets): string {
    const limit = plan.binding.includes("nat-ports") ? "its NAT port space runs out" : "its conntrack table is full";
    const { newConnectionsPerSecond: rate, conntrackUsedPercent: fill } = targets;
    return `Scaling targets (proxyScaling; per proxy, ${SCALING_HEADROOM} of each limit; proxyScalingNewConnectionsTarget / proxyScalingConntrackTarget override them):\n` +
        `  NewConnectionsPerSecond  ${n(rate.target)}/s   (of the sustained ${n(rate.limit)}/s)\n` +
        `  ConntrackUsedPercent     ${fill.target} %   (of ${fill.limit} %, where ${limit})\n`;
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
                          [--conntrack-max ${DEFAULT_CONNTRACK_MAX}] [--nat-port-range ${DEFAULT_NAT_PORT_RANGE}] [--new-per-second 0]
                          [--time-wait-timeout ${DEFAULT_TIME_WAIT_TIMEOUT_SECONDS}] [--json] [--help]`;

const FLAGS = ["connections", "destinations", "proxies-min", "ports-per-destination", "conntrack-max", "nat-port-range", "new-per-second",
    "time-wait-timeout"] as const;

/** The plan's input, or undefined when --help was asked. */
export function parseCapacityArgs(argv: readonly string[]): { input: CapacityInput; json: boolean; timeWaitSeconds?: number } | undefined {
    const { values, positionals, help } = parseFlags(argv, {
        ...Object.fromEntries(FLAGS.map(f => [f, { type: "string" as const }])),
        json: { type: "boolean" as const },
    }, true);
    if (help) return undefined;
    if (positionals.length) throw new InvalidValueError(positionals[0], "unexpected argument");
    const v = values as Record<string, string | boolean | undefined>;
    const num = (flag: string): number | undefined => {
        const s = v[flag];
        if (s === undefined) return undefined;
        if (typeof s !== "string" || !/^[0-9]+$/.test(s)) throw new InvalidValueError(`--${flag}`, `expected a whole number, got '${s}'`);
        return Number(s);
    };
    for (const required of ["connections", "destinations"]) {
        if (v[required] === undefined) throw new InvalidValueError(`--${required}`, "is required");
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
        const parsed = parseCapacityArgs(argv);
        if (!parsed) {
            out(`${USAGE}\n`);
            return 0;
        }
        const plan = planCapacity(parsed.input);
        const i = plan.input;
        const rate = i.newPerSecond > 0
            ? sustainedNewPerSecond(i.newPerSecond, i.destinations, i.portsPerDestination, i.natPortRange, parsed.timeWaitSeconds) : undefined;
        const scaling = scalingTargets({ ...i, timeWaitSeconds: parsed.timeWaitSeconds });
        out(parsed.json ? `${JSON.stringify({ ...plan, sustained: rate, scaling }, null, 2)}\n`
            : formatPlan(plan) + (rate ? formatSustained(i.newPerSecond, plan, rate) : "") + formatScaling(plan, scaling));
        return 0;
    } catch (e) {
        const known = isUsageError(e);
        err(`capacity: ${(e as Error).message}\n${USAGE}\n`);
        return known ? 2 : 1;
    }
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2), s => process.stdout.write(s), s => process.stderr.write(s));
}
