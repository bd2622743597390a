// A pure function from the desired state to an iptables-restore document, as kube-proxy builds its own:
// only chains we own, declared (hence flushed) and refilled in one atomic commit per table. Builtin
// chains are never in the document; the script adds one jump to each, and nothing else of theirs.
import { formatProbability, weightedCascade } from "./cascade";
import { rotation } from "./regions";
import { ForwardingSpec } from "./spec";

export const CHAINS = {
    /** nat, from PREROUTING: new TCP connections to this host on a listener port. */
    listeners: "CRPROXY-LISTENERS",
    /** nat: tags the connection, then picks a destination. */
    connect: "CRPROXY-CONNECT",
    /** nat: the destination set alone, so a health-checking agent can rewrite just this chain. */
    destinations: "CRPROXY-DESTINATIONS",
    /** nat, from POSTROUTING: MASQUERADE every tagged connection, whichever destination it got. */
    postrouting: "CRPROXY-POSTROUTING",
    /** filter, from FORWARD: lets tagged connections through a host whose FORWARD policy drops. */
    forward: "CRPROXY-FORWARD",
} as const;

/** The builtin chain each of our entry chains hangs from. */
export const JUMPS: ReadonlyArray<{ table: "nat" | "filter"; from: string; to: string }> = [
    { table: "nat", from: "PREROUTING", to: CHAINS.listeners },
    { table: "nat", from: "POSTROUTING", to: CHAINS.postrouting },
    { table: "filter", from: "FORWARD", to: CHAINS.forward },
];

/** The connmark match/set argument: the one bit as value and mask. */
export const connmarkMask = (spec: ForwardingSpec) => `0x${spec.connmark.toString(16)}/0x${spec.connmark.toString(16)}`;

/** One DNAT rule of the destination chain: the number-th of count, taking `probability` of the new
 *  connections that reach it (none for the last rule, which takes the rest). Same port as the listener. */
export function destinationRule(number: number | string, count: number | string, destination: string, probability?: string): string {
    const statistic = probability === undefined ? "" : ` -m statistic --mode random --probability ${probability}`;
    return `-A ${CHAINS.destinations} -m comment --comment "destination ${number}/${count}"${statistic} -j DNAT --to-destination ${destination}`;
}

/** The CRPROXY-DESTINATIONS chain's rules: DNAT to each destination, same port, in proportion to its weight
 *  (whole numbers; equal weights when none are given: 1/N of new connections each). */
export function destinationRules(destinations: readonly string[], weights: readonly number[] = destinations.map(() => 1)): string[] {
    const n = destinations.length;
    return weightedCascade(weights).map((p, i) => destinationRule(i + 1, n, destinations[i], i < n - 1 ? formatProbability(p) : undefined));
}

/** The rules for the configured split, every destination answering: what the forwarding script installs at boot. */
export function configuredRules(spec: ForwardingSpec): string[] {
    const split = rotation(spec.regions, spec.destinations).destinations;
    return destinationRules(split.map(d => d.destination), split.map(d => d.weight));
}

/** What a table's transaction carries besides our chains: lines added just before its COMMIT. */
export type TableSuffix = (table: "nat" | "filter") => readonly string[];

/** The whole document for the spec's configured split; the agent renders it with its healthy set's rules and
 *  the jump repairs as shell expansions instead (proxy/state.ts), so both come from this one function. */
export function renderRestoreDocument(spec: ForwardingSpec, destinations: readonly string[] = configuredRules(spec),
    suffix: TableSuffix = () => []): string {
    const natPorts = spec.natPorts ? ` --to-ports ${spec.natPorts.from}-${spec.natPorts.to}` : "";
    const nat = [
        "*nat",
        ...[CHAINS.listeners, CHAINS.connect, CHAINS.destinations, CHAINS.postrouting].map(c => `:${c} - [0:0]`),
        // Only traffic addressed to this host: transit traffic and other local services' ports are untouched.
        ...spec.ports.map(port =>
            `-A ${CHAINS.listeners} -p tcp -m tcp --dport ${port} -m addrtype --dst-type LOCAL -m comment --comment "listener ${port}" -j ${CHAINS.connect}`),
        `-A ${CHAINS.connect} -j CONNMARK --set-xmark ${connmarkMask(spec)}`,
        `-A ${CHAINS.connect} -j ${CHAINS.destinations}`,
        ...destinations,
        // Every destination, not just the first (the seed's bug); --random-fully avoids port-search clashes;
        // -p tcp because iptables takes --to-ports only on a rule that matches a protocol with ports.
        `-A ${CHAINS.postrouting} -p tcp -m connmark --mark ${connmarkMask(spec)} -m comment --comment "proxied connections" -j MASQUERADE${natPorts} --random-fully`,
        ...suffix("nat"),
        "COMMIT",
    ];
    const filter = [
        "*filter",
        `:${CHAINS.forward} - [0:0]`,
        `-A ${CHAINS.forward} -m connmark --mark ${connmarkMask(spec)} -m comment --comment "proxied connections" -j ACCEPT`,
        ...suffix("filter"),
        "COMMIT",
    ];
    return [...nat, ...filter, ""].join("\n");
}
