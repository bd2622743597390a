// The two load balancers' stand-ins as iptables-restore documents, pure so tests check them without root.
// NLB-2 spreads new connections over the proxies with the proxies' own cascade (proxy/cascade.ts) and keeps
// the client's address; NLB-1 forwards each public address to one ALB node, DNAT only.
import { cascade, formatProbability } from "../proxy/cascade";

export const NLB2_CHAIN = "NLB2-TARGETS";
export const NLB1_CHAIN = "NLB1-LISTENERS";

export interface Nlb2Target {
    /** Shown in the rule's comment ("target NAME"). */
    readonly name: string;
    readonly address: string;
}

/** NLB-2: TCP listeners on the VIP, new connections spread evenly over the targets, client IP kept. */
export function renderNlb2Rules(vip: string, ports: readonly number[], targets: readonly Nlb2Target[]): string {
    const shares = cascade(targets.length);
    return [
        "*nat",
        `:${NLB2_CHAIN} - [0:0]`,
        `-A PREROUTING -d ${vip}/32 -p tcp -m multiport --dports ${ports.join(",")} -j ${NLB2_CHAIN}`,
        ...targets.map((t, i) => `-A ${NLB2_CHAIN} -m comment --comment "target ${t.name}"` +
            (i < targets.length - 1 ? ` -m statistic --mode random --probability ${formatProbability(shares[i])}` : "") +
            ` -j DNAT --to-destination ${t.address}`),
        "COMMIT",
        "",
    ].join("\n");
}

/** NLB-1: each public address forwards (DNAT only, client IP preserved) to the ALB node at the same index. */
export function renderNlb1Rules(publicAddresses: readonly string[], albNodes: readonly string[]): string {
    if (albNodes.length < publicAddresses.length) throw new Error("NLB-1 needs an ALB node for each public address");
    return [
        "*nat",
        `:${NLB1_CHAIN} - [0:0]`,
        `-A PREROUTING -p tcp -j ${NLB1_CHAIN}`,
        ...publicAddresses.map((addr, j) =>
            `-A ${NLB1_CHAIN} -d ${addr}/32 -m comment --comment "public ${addr}" -j DNAT --to-destination ${albNodes[j]}`),
        "COMMIT",
        "",
    ].join("\n");
}
