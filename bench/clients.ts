// Client namespaces for the bench: one address each, as NLB-2 hands a proxy connections from many
// CloudFront edge addresses (client IP preserved). Each hangs off the NLB-2 stand-in by its own veth,
// in the client network 198.18.1.0/24 that every path already routes back to.
import { inNs, run } from "../lab/exec";
import { VIP } from "../lab/constants";
import { Lab } from "../lab/lab";

export interface Client { readonly ns: string; readonly address: string }

/** Addresses of the bench's clients: 198.18.1.100 upwards (the lab's own client is 198.18.1.2). */
export function clientAddress(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index > 99) throw new Error(`client index 0-99, got ${index}`);
    return `198.18.1.${100 + index}`;
}

/** Adds `count` client namespaces to the lab (removed with it: same name prefix). */
export function addClients(lab: Lab, count: number): Client[] {
    const nlb2 = lab.state.ns.nlb2;
    return Array.from({ length: count }, (_, i) => {
        const ns = lab.addNamespace(`c${i}`);
        const address = clientAddress(i);
        run("ip", ["link", "add", "c", "netns", ns, "type", "veth", "peer", "name", `n2-c${i}`, "netns", nlb2]);
        inNs(ns, "ip", ["addr", "add", `${address}/32`, "dev", "c"]);
        inNs(ns, "ip", ["link", "set", "c", "up"]);
        inNs(ns, "ip", ["route", "add", `${VIP}/32`, "dev", "c"]);
        inNs(ns, "ip", ["route", "add", "default", "via", VIP]);
        // Many short connections: the whole ephemeral range, as the lab's own client has.
        inNs(ns, "sysctl", ["-q", "-w", "net.ipv4.ip_local_port_range=1024 65535"]);
        // NLB-2's side answers as the VIP on every client link; a /32 route picks the link per client.
        inNs(nlb2, "ip", ["addr", "add", `${VIP}/32`, "dev", `n2-c${i}`]);
        inNs(nlb2, "ip", ["link", "set", `n2-c${i}`, "up"]);
        inNs(nlb2, "ip", ["route", "add", `${address}/32`, "dev", `n2-c${i}`]);
        return { ns, address };
    });
}
