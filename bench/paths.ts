// The four data paths the bench compares, built over the same lab namespaces, one proxy namespace each
// (so that no path inherits another's conntrack entries or source ports):
//   routed   proxy1 only routes: no NAT, no proxy (the upper limit of the namespaces and veths)
//   script   proxy0 runs the rendered forwarding script, byte for byte (DNAT cascade + MASQUERADE)
//   haproxy  proxy2 runs HAProxy in TCP mode, round robin over the same destinations
//   nginx    proxy3 runs nginx's stream module (libnginx-mod-stream), round robin likewise
import * as fs from "node:fs";
import * as path from "node:path";
import { inNs, run, sleep, startInNs } from "../lab/exec";
import { LISTENER_PORTS, USER_HOST } from "../lab/constants";
import { Lab } from "../lab/lab";
import { Client } from "./clients";
import { IPERF_PORT } from "./iperf";
import { PathName } from "./options";
import { haproxyConfig, nginxStreamConfig, UserSpaceProxy } from "./proxies";

export interface BenchPath {
    readonly name: PathName;
    /** The namespace whose conntrack table the path goes through (the proxy, or the router). */
    readonly ns: string;
    readonly what: string;
    /** Where client number i sends its connections (routed: straight at a destination). */
    readonly target: (clientIndex: number) => string;
}

/** The proxy namespace each path uses (createLab({ proxies: 4 })). */
export const PROXY_OF: Record<PathName, number> = { script: 0, routed: 1, haproxy: 2, nginx: 3 };

/**
 * Settings of the lab's stand-ins for the bench, not of the proxy: the NLB stand-ins are plain Linux
 * routers whose conntrack tables (262,144 entries, 120 s TIME_WAIT) would fill under sustained churn and
 * drop SYNs for every path, which no real NLB does; and the ALB stand-in keeps every TIME_WAIT socket
 * (the default cap, 131,072, silently skips TIME_WAIT beyond it and would hide the PAWS effect).
 */
function tuneStandIns(lab: Lab): void {
    const { ns } = lab.state;
    for (const router of [ns.nlb2, ns.nlb1]) inNs(router, "sysctl", ["-q", "-w", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1"]);
    inNs(ns.alb, "sysctl", ["-q", "-w", "net.ipv4.tcp_max_tw_buckets=2000000"]);
}

export function setUpPaths(lab: Lab, clients: readonly Client[], destinations: readonly string[], names: readonly PathName[],
    renderFlags: readonly string[], log: (s: string) => void): { paths: BenchPath[]; script: string } {
    const { state } = lab;
    const proxy = (n: PathName) => state.proxies[PROXY_OF[n]];
    const ports = [...LISTENER_PORTS, IPERF_PORT];
    tuneStandIns(lab);
    state.pids.iperf3 = startInNs(state.ns.alb, "iperf3", ["-s", "-p", String(IPERF_PORT)], path.join(state.dir, "iperf3.log"));
    // Every proxy may use the whole port range, as MASQUERADE does (1024-65535).
    for (const p of state.proxies) inNs(p.ns, "sysctl", ["-q", "-w", "net.ipv4.ip_local_port_range=1024 65535"]);

    const script = lab.renderScript(destinations, renderFlags, ports);
    const paths: BenchPath[] = [];
    for (const name of names) {
        const p = proxy(name);
        if (name === "script") {
            const applied = lab.applyScript(p.ns, script);
            if (applied.status !== 0) throw new Error(`forwarding script failed in ${p.ns}: ${applied.stderr}`);
            paths.push({ name, ns: p.ns, target: () => p.inAddress,
                what: `${p.ns}: the rendered script (DNAT over ${destinations.length} + MASQUERADE${renderFlags.length ? `, proxy:render ${renderFlags.join(" ")}` : ""})` });
        } else if (name === "routed") {
            inNs(p.ns, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
            inNs(p.ns, "iptables", ["-w", "-P", "FORWARD", "ACCEPT"]);
            for (const d of destinations) inNs(state.ns.nlb2, "ip", ["route", "add", `${d}/32`, "via", p.inAddress]);
            inNs(state.ns.nlb1, "ip", ["route", "add", "198.18.1.0/24", "via", p.outAddress]);
            paths.push({ name, ns: p.ns, target: i => destinations[i % destinations.length],
                what: `${p.ns} routes, no NAT: client i connects to destination i mod ${destinations.length}` });
        } else {
            const conf: UserSpaceProxy = { listen: p.inAddress, ports, destinations, dir: state.dir };
            if (name === "haproxy") {
                const file = path.join(state.dir, "haproxy.cfg");
                fs.writeFileSync(file, haproxyConfig(conf));
                run("haproxy", ["-c", "-q", "-f", file]);
                state.pids.haproxy = startInNs(p.ns, "haproxy", ["-db", "-f", file], path.join(state.dir, "haproxy.log"));
                paths.push({ name, ns: p.ns, target: () => p.inAddress, what: `${p.ns}: HAProxy ${version("haproxy", ["-v"])} mode tcp, round robin` });
            } else {
                const file = path.join(state.dir, "nginx-stream.conf");
                fs.writeFileSync(file, nginxStreamConfig(conf));
                const prefix = ["-c", file, "-p", state.dir, "-e", path.join(state.dir, "nginx-stream-error.log")];
                inNs(p.ns, "nginx", ["-t", "-q", ...prefix]); // binds its listen addresses: only inside the namespace
                state.pids.nginxStream = startInNs(p.ns, "nginx", [...prefix, "-g", "daemon off;"], path.join(state.dir, "nginx-stream.log"));
                paths.push({ name, ns: p.ns, target: () => p.inAddress, what: `${p.ns}: nginx ${version("nginx", ["-v"])} stream, round robin` });
            }
        }
    }
    for (const p of paths) waitForPath(clients[0].ns, p.target(0), p.name);
    log(`paths:\n${paths.map(p => `  ${p.name.padEnd(8)} ${p.what}`).join("\n")}`);
    return { paths, script };
}

function version(cmd: string, args: string[]): string {
    const r = run(cmd, args, { allowFailure: true });
    return /version:? (?:nginx\/)?(\S+)/.exec(r.stdout + r.stderr)?.[1] ?? "?";
}

function waitForPath(ns: string, host: string, name: string): void {
    const deadline = Date.now() + 15_000;
    for (;;) {
        const r = inNs(ns, "curl", ["-sS", "--max-time", "3", "-H", `Host: ${USER_HOST}`, `http://${host}/__lab/ok`], { allowFailure: true });
        if (r.stdout === "ok\n") return;
        if (Date.now() > deadline) throw new Error(`${name} path (${host}) does not answer: ${r.stderr.trim()}`);
        sleep(200);
    }
}
