// The forwarding lab: the system's data path rebuilt from network namespaces joined by veth links.
//
//   client (viewer) ──► edge (CloudFront origin-fetch stand-in, lab/edge.ts: HTTPS to test.<cnDomain>)
//   client, edge ──► nlb2 (NLB-2 stand-in: DNAT spread over the proxies, client IP preserved)
//                ├─► proxy0 ─┐  each runs exactly `proxy:render --format script` output
//                └─► proxy1 ─┴► nlb1 (NLB-1 stand-in: public RFC 5737 addresses, each DNATed, no SNAT)
//                                  └─► alb (ALB stand-in: nginx generated from the ALB the global stack
//                                           declares, lab/albStandIn.ts, proxying to httpbin under gunicorn)
//
// Every address lives inside a namespace this run creates (links in 198.18.0.0/15, public addresses in
// RFC 5737 ranges); veth pairs are created directly inside the namespaces, so the host gains nothing but
// the namespaces themselves, and deleting them removes everything.
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inNs, run, RunResult, sleep, startInNs, which } from "./exec";
import { albModel, albNginxServers, AlbModel } from "./albStandIn";
import { DeclaredResource } from "../offline/mocks";
import { declaredStacks, DeclaredStacks } from "./declared";
import { edgeModel, startEdge } from "./edge";
import { issueLeaf, makeCa } from "./tls";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const DOMAIN = "poc1009.example.com";
export const CN_DOMAIN = "poc1010.example.com";
/** The name a user in China resolves to NLB-2 (the seed's test.${CN_DOMAIN_NAME}). */
export const USER_HOST = `test.${CN_DOMAIN}`;
/** NLB-1's public addresses: one per "availability zone", spread over the three RFC 5737 ranges. */
export const PUBLIC_ADDRESSES = ["203.0.113.10", "198.51.100.10", "192.0.2.10", "203.0.113.11", "198.51.100.11", "192.0.2.11"];
/** NLB-2's address as the client sees it. */
export const VIP = "198.18.1.1";
export const CLIENT_ADDRESS = "198.18.1.2";
/** The edge stand-in's address (a CloudFront edge location, where abc.<cnDomain> resolves), and NLB-2's side of its link. */
export const EDGE_ADDRESS = "198.18.0.2";
const EDGE_NLB2_ADDRESS = "198.18.0.1";
/** Listener ports of both NLBs and of the proxies. */
export const LISTENER_PORTS = [80, 443];
/** A lab-only port where the tests' connection holder listens on the ALB side (NLB-1 forwards all TCP). */
export const HOLD_PORT = 7000;
export const NAME_PREFIX = "crp-";
const HTTPBIN_PORT = 8000;

export interface ProxyInfo {
    readonly index: number;
    readonly ns: string;
    /** Address facing NLB-2 (where NLB-2 sends connections). */
    readonly inAddress: string;
    /** Address facing NLB-1: the source MASQUERADE gives proxied connections, what httpbin reports. */
    readonly outAddress: string;
    readonly inInterface: string;
    readonly outInterface: string;
}

export interface LabState {
    readonly runId: string;
    readonly prefix: string;
    readonly dir: string;
    readonly ns: { readonly client: string; readonly edge: string; readonly nlb2: string; readonly nlb1: string; readonly alb: string };
    readonly proxies: readonly ProxyInfo[];
    /** The public addresses NLB-1 owns, and the ALB node each one forwards to. */
    readonly publicAddresses: readonly string[];
    readonly albNodes: readonly string[];
    readonly caCert: string;
    readonly albAccessLog: string;
    readonly edgeAccessLog: string;
    /** The viewer-facing name of the declared CloudFront distribution (abc.<cnDomain>); set by build(). */
    edgeHost: string;
    /** What the program declares under the offline mocks (lab/declared.ts), as JSON: the stand-ins' source. */
    readonly declaredFile: string;
    readonly pids: Record<string, number>;
}

export interface LabOptions {
    readonly proxies?: number;
    readonly runId?: string;
    /** Progress lines (default: none). */
    readonly log?: (line: string) => void;
}

/** Tools the lab needs on the host, with the Debian package that provides each. */
export const REQUIRED_TOOLS: ReadonlyArray<{ tool: string; pkg: string }> = [
    { tool: "ip", pkg: "iproute2" },
    { tool: "iptables", pkg: "iptables" },
    { tool: "iptables-save", pkg: "iptables" },
    { tool: "iptables-restore", pkg: "iptables" },
    { tool: "conntrack", pkg: "conntrack" },
    { tool: "curl", pkg: "curl" },
    { tool: "nginx", pkg: "nginx-light" },
    { tool: "openssl", pkg: "openssl" },
    { tool: "sysctl", pkg: "procps" },
    { tool: "bash", pkg: "bash" },
    { tool: "/usr/bin/python3", pkg: "python3" },
];

/** What is missing for the lab to run (tools, python modules), as human-readable lines. Empty when ready. */
export function missingPrerequisites(): string[] {
    const missing = REQUIRED_TOOLS.filter(t => !which(t.tool)).map(t => `${t.tool} (Debian package ${t.pkg})`);
    if (which("/usr/bin/python3")) {
        const probe = run("/usr/bin/python3", ["-c", "import httpbin, gunicorn"], { allowFailure: true, env: pythonEnv() });
        if (probe.status !== 0) {
            missing.push("python modules httpbin and gunicorn for /usr/bin/python3 (Debian packages python3-httpbin gunicorn)");
        }
    }
    return missing;
}

/** The Debian python must not see a pyenv or virtualenv's settings. */
function pythonEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!/^(PYTHON|PYENV|VIRTUAL_ENV)/.test(k)) env[k] = v;
    }
    env.PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
    return env;
}

export function newRunId(): string {
    return crypto.randomBytes(3).toString("hex");
}

export function labDir(runId: string): string {
    return path.join(os.tmpdir(), `crp-lab-${runId}`);
}

const link = (third: number, host: number) => `198.18.${third}.${host}`;

/** Builds the whole lab except the proxies' forwarding rules. On any failure it removes what it made. */
export function createLab(options: LabOptions = {}): Lab {
    const runId = options.runId ?? newRunId();
    if (!/^[0-9a-f]{6}$/.test(runId)) throw new Error(`run id must be 6 hex digits, got '${runId}'`);
    const proxyCount = options.proxies ?? 2;
    if (!Number.isInteger(proxyCount) || proxyCount < 1 || proxyCount > 8) throw new Error("proxies: 1 to 8");
    const prefix = `${NAME_PREFIX}${runId}`;
    const dir = labDir(runId);
    fs.mkdirSync(dir, { mode: 0o700 }); // fails if it exists: never reuse another run's directory
    const state: LabState = {
        runId, prefix, dir,
        ns: { client: `${prefix}-client`, edge: `${prefix}-edge`, nlb2: `${prefix}-nlb2`, nlb1: `${prefix}-nlb1`, alb: `${prefix}-alb` },
        proxies: Array.from({ length: proxyCount }, (_, i) => ({
            index: i,
            ns: `${prefix}-proxy${i}`,
            inAddress: link(10 + i, 2),
            outAddress: link(20 + i, 2),
            inInterface: `p${i}-in`,
            outInterface: `p${i}-out`,
        })),
        publicAddresses: PUBLIC_ADDRESSES,
        albNodes: PUBLIC_ADDRESSES.map((_, j) => link(30, 10 + j)),
        caCert: path.join(dir, "pki", "ca.crt"),
        albAccessLog: path.join(dir, "alb-access.log"),
        edgeAccessLog: path.join(dir, "edge-access.log"),
        edgeHost: "",
        declaredFile: path.join(dir, "declared.json"),
        pids: {},
    };
    const lab = new Lab(state, options.log ?? (() => undefined));
    registerActive(lab);
    try {
        lab.build();
    } catch (err) {
        lab.destroy();
        throw err;
    }
    return lab;
}

/** Reattaches to a kept lab (for --down and for inspection). */
export function loadLab(runId: string): Lab | undefined {
    const file = path.join(labDir(runId), "lab.json");
    if (!fs.existsSync(file)) return undefined;
    return new Lab(JSON.parse(fs.readFileSync(file, "utf8")) as LabState, () => undefined);
}

export class Lab {
    private destroyed = false;

    constructor(readonly state: LabState, private readonly log: (line: string) => void) { }

    get runId(): string { return this.state.runId; }
    get namespaces(): string[] {
        return [this.state.ns.client, this.state.ns.edge, this.state.ns.nlb2, ...this.state.proxies.map(p => p.ns), this.state.ns.nlb1, this.state.ns.alb];
    }

    /** Creates namespaces, links, routes, both NLB stand-ins, the PKI, httpbin, the ALB and the edge. */
    build(): void {
        const { ns, proxies } = this.state;
        this.log(`lab ${this.runId}: the program under the offline mocks (global, and china with CloudFront) for the stand-ins`);
        const declared = declaredStacks();
        fs.writeFileSync(this.state.declaredFile, JSON.stringify(declared));
        this.log(`lab ${this.runId}: namespaces ${this.state.prefix}-*`);
        for (const name of this.namespaces) {
            run("ip", ["netns", "add", name]);
            inNs(name, "ip", ["link", "set", "lo", "up"]);
        }
        this.persist();

        // client <-> nlb2
        this.veth(ns.client, "c-out", `${CLIENT_ADDRESS}/24`, ns.nlb2, "n2-client", `${VIP}/24`);
        inNs(ns.client, "ip", ["route", "add", "default", "via", VIP]);
        // A user opening many connections: let it use the whole ephemeral range.
        inNs(ns.client, "sysctl", ["-q", "-w", "net.ipv4.ip_local_port_range=1024 65535"]);
        // edge <-> nlb2: the edge reaches NLB-2 from the internet as the viewer does; nlb2 routes between them.
        this.veth(ns.nlb2, "n2-edge", `${EDGE_NLB2_ADDRESS}/24`, ns.edge, "edge-out", `${EDGE_ADDRESS}/24`);
        inNs(ns.edge, "ip", ["route", "add", "default", "via", EDGE_NLB2_ADDRESS]);

        for (const p of proxies) {
            this.veth(ns.nlb2, `n2-p${p.index}`, `${link(10 + p.index, 1)}/24`, p.ns, p.inInterface, `${p.inAddress}/24`);
            this.veth(p.ns, p.outInterface, `${p.outAddress}/24`, ns.nlb1, `n1-p${p.index}`, `${link(20 + p.index, 1)}/24`);
            // Like an instance in a public subnet: the default route leads to the internet (NLB-1's side);
            // replies to the client network go back through NLB-2, which preserved the client's address.
            inNs(p.ns, "ip", ["route", "add", "default", "via", link(20 + p.index, 1), "dev", p.outInterface]);
            inNs(p.ns, "ip", ["route", "add", "198.18.0.0/23", "via", link(10 + p.index, 1), "dev", p.inInterface]);
            // A hardened host: nothing is forwarded unless the proxy's own rules accept it. ip_forward stays
            // at the namespace default (0): the rendered script must turn it on.
            inNs(p.ns, "iptables", ["-w", "-P", "FORWARD", "DROP"]);
        }

        // nlb1 <-> alb. NLB-1 has no route to the client network: without MASQUERADE on the proxy, the ALB's
        // replies could not find their way back, as in the real system.
        this.veth(ns.nlb1, "n1-alb", `${link(30, 1)}/24`, ns.alb, "alb-in", `${link(30, 2)}/24`);
        for (const node of this.state.albNodes) inNs(ns.alb, "ip", ["addr", "add", `${node}/24`, "dev", "alb-in"]);
        inNs(ns.alb, "ip", ["route", "add", "default", "via", link(30, 1)]);
        for (const addr of this.state.publicAddresses) inNs(ns.nlb1, "ip", ["addr", "add", `${addr}/32`, "dev", "lo"]);

        for (const router of [ns.nlb2, ns.nlb1]) inNs(router, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
        inNs(ns.nlb2, "iptables-restore", ["-w"], { input: this.nlb2Rules() });
        inNs(ns.nlb1, "iptables-restore", ["-w"], { input: this.nlb1Rules() });

        makeCa(path.join(this.state.dir, "pki"), this.runId);
        this.startAlb(declared.global);
        this.startEdgeStandIn(declared.china);
        this.persist();
    }

    /** What build() read from the program, to change in a test and hand to reconfigureAlb. */
    declared(): DeclaredStacks {
        return JSON.parse(fs.readFileSync(this.state.declaredFile, "utf8")) as DeclaredStacks;
    }

    /** Regenerates the ALB stand-in from these declared resources (a test-only variant, say) and reloads nginx. */
    reconfigureAlb(resources: readonly DeclaredResource[]): AlbModel {
        const model = this.writeAlbConfig(resources);
        process.kill(this.state.pids.nginx, "SIGHUP");
        sleep(1000); // nginx's old workers finish; new ones read the new configuration
        return model;
    }

    private startEdgeStandIn(resources: readonly DeclaredResource[]): void {
        const model = edgeModel(resources);
        this.state.edgeHost = model.alias;
        this.log(`lab ${this.runId}: edge stand-in for ${model.alias} in ${this.state.ns.edge} (${EDGE_ADDRESS}), origin ${model.originDomain} -> ${VIP}`);
        const viewer = issueLeaf(path.join(this.state.dir, "pki"), "edge-viewer", [model.alias]);
        this.state.pids.edge = startEdge(this.state.ns.edge, {
            model, dir: this.state.dir, listenAddress: EDGE_ADDRESS, originAddress: VIP,
            viewerCert: viewer.cert, viewerKey: viewer.key, caCert: this.state.caCert, accessLog: this.state.edgeAccessLog,
        });
    }

    /** NLB-2: TCP listeners 80/443 on the VIP, new connections spread evenly over the proxies, client IP kept. */
    private nlb2Rules(): string {
        const n = this.state.proxies.length;
        return [
            "*nat",
            ":NLB2-TARGETS - [0:0]",
            `-A PREROUTING -d ${VIP}/32 -p tcp -m multiport --dports ${LISTENER_PORTS.join(",")} -j NLB2-TARGETS`,
            ...this.state.proxies.map((p, i) => `-A NLB2-TARGETS -m comment --comment "target ${p.ns}"` +
                (i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : "") +
                ` -j DNAT --to-destination ${p.inAddress}`),
            "COMMIT",
            "",
        ].join("\n");
    }

    /** NLB-1: each public address forwards (DNAT only, client IP preserved) to one ALB node. */
    private nlb1Rules(): string {
        return [
            "*nat",
            ":NLB1-LISTENERS - [0:0]",
            "-A PREROUTING -p tcp -j NLB1-LISTENERS",
            ...this.state.publicAddresses.map((addr, j) =>
                `-A NLB1-LISTENERS -d ${addr}/32 -m comment --comment "public ${addr}" -j DNAT --to-destination ${this.state.albNodes[j]}`),
            "COMMIT",
            "",
        ].join("\n");
    }

    private startAlb(resources: readonly DeclaredResource[]): void {
        const { dir, ns } = this.state;
        const env = pythonEnv();
        this.log(`lab ${this.runId}: httpbin (gunicorn) and nginx in ${ns.alb}`);
        this.state.pids.httpbin = startInNs(ns.alb, "/usr/bin/python3",
            ["-m", "gunicorn", "--bind", `127.0.0.1:${HTTPBIN_PORT}`, "--workers", "2", "--chdir", dir,
                "--access-logfile", path.join(dir, "httpbin-access.log"), "httpbin:app"],
            path.join(dir, "httpbin.log"), env);
        fs.writeFileSync(path.join(dir, "blob.bin"), crypto.randomBytes(4 * 1024 * 1024));
        const conf = path.join(dir, "nginx.conf");
        fs.mkdirSync(path.join(dir, "nginx"), { recursive: true });
        this.writeAlbConfig(resources);
        this.state.pids.nginx = startInNs(ns.alb, "nginx",
            ["-c", conf, "-p", path.join(dir, "nginx"), "-e", path.join(dir, "nginx-error.log"), "-g", "daemon off;"],
            path.join(dir, "nginx.log"));
        this.waitFor("httpbin", () => inNs(ns.alb, "curl", ["-sf", "-o", "/dev/null", `http://127.0.0.1:${HTTPBIN_PORT}/status/200`],
            { allowFailure: true }).status === 0);
        this.waitFor("nginx", () => inNs(ns.alb, "curl", ["-sf", "-o", "/dev/null", "--cacert", this.state.caCert,
            "--resolve", `alb.${DOMAIN}:443:${this.state.albNodes[0]}`, `https://alb.${DOMAIN}/status/200`],
            { allowFailure: true }).status === 0);
    }

    /** Issues a lab certificate per certificate the ALB declares, writes and checks the generated nginx configuration. */
    private writeAlbConfig(resources: readonly DeclaredResource[]): AlbModel {
        const { dir } = this.state;
        const model = albModel(resources);
        const pki = path.join(dir, "pki");
        const leaves = new Map<string, { cert: string; key: string }>();
        for (const c of model.listeners.flatMap(l => l.certificates)) {
            const key = c.names.join(",");
            if (!leaves.has(key)) leaves.set(key, issueLeaf(pki, `alb-${leaves.size}-${Date.now()}`, c.names));
        }
        this.log(`lab ${this.runId}: ALB stand-in from the declared ALB: ${model.listeners.map(l => `${l.protocol}:${l.port} ` +
            `(${l.rules.length} rules${l.certificates.length ? `, certificates ${l.certificates.map(c => c.names.join("+")).join(", ")}` : ""})`).join(", ")}`);
        const tmp = (n: string) => path.join(dir, "nginx", n);
        const conf = path.join(dir, "nginx.conf");
        fs.writeFileSync(conf, `# ALB stand-in of lab ${this.runId}, generated from the declared ALB (lab/albStandIn.ts)
user root;
worker_processes 2;
pid ${path.join(dir, "nginx.pid")};
error_log ${path.join(dir, "nginx-error.log")} warn;
events { worker_connections 8192; }
http {
    log_format alb escape=json '{"remote":"$remote_addr","server":"$server_addr","port":"$server_port","sni":"$ssl_server_name","host":"$host","uri":"$request_uri","status":"$status"}';
    access_log ${this.state.albAccessLog} alb;
    client_body_temp_path ${tmp("body")};
    proxy_temp_path ${tmp("proxy")};
    fastcgi_temp_path ${tmp("fastcgi")};
    uwsgi_temp_path ${tmp("uwsgi")};
    scgi_temp_path ${tmp("scgi")};
${albNginxServers({
        model,
        files: c => leaves.get(c.names.join(","))!,
        upstream: `127.0.0.1:${HTTPBIN_PORT}`,
        // Lab-only endpoints nginx answers itself, before any rule, so that benchmarks measure the path, not httpbin.
        labLocations: [
            `location = /__lab/ok { access_log off; default_type text/plain; return 200 "ok\\n"; }`,
            `location = /__lab/blob { access_log off; default_type application/octet-stream; alias ${path.join(dir, "blob.bin")}; }`,
        ].join("\n"),
    }).replace(/^/gm, "    ")}
}
`);
        run("nginx", ["-t", "-q", "-c", conf, "-p", path.join(dir, "nginx"), "-e", path.join(dir, "nginx-error.log")]);
        return model;
    }

    private waitFor(what: string, ready: () => boolean, timeoutMs = 30_000): void {
        const deadline = Date.now() + timeoutMs;
        while (!ready()) {
            if (Date.now() > deadline) {
                const logs = ["httpbin.log", "nginx-error.log", "nginx.log"].map(f => path.join(this.state.dir, f))
                    .filter(f => fs.existsSync(f)).map(f => `--- ${f}\n${fs.readFileSync(f, "utf8").slice(-2000)}`).join("\n");
                throw new Error(`${what} did not become ready in ${timeoutMs / 1000} s\n${logs}`);
            }
            sleep(200);
        }
    }

    private veth(nsA: string, ifA: string, addrA: string, nsB: string, ifB: string, addrB: string): void {
        run("ip", ["link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
        inNs(nsA, "ip", ["addr", "add", addrA, "dev", ifA]);
        inNs(nsB, "ip", ["addr", "add", addrB, "dev", ifB]);
        inNs(nsA, "ip", ["link", "set", ifA, "up"]);
        inNs(nsB, "ip", ["link", "set", ifB, "up"]);
    }

    private persist(): void {
        fs.writeFileSync(path.join(this.state.dir, "lab.json"), JSON.stringify(this.state, null, 2));
    }

    /** `npm run --silent proxy:render -- ARGS`, exactly as a user would run it. */
    render(args: readonly string[]): RunResult {
        return renderCli(args);
    }

    /** Renders the script for these destinations (and extra renderer flags); throws on a renderer error. */
    renderScript(destinations: readonly string[], extra: readonly string[] = [], ports: readonly number[] = LISTENER_PORTS,
        format: "script" | "agent" = "script"): string {
        const result = this.render(["--destinations", destinations.join(","), "--ports", ports.join(","), "--format", format, ...extra]);
        if (result.status !== 0) throw new Error(`proxy:render failed (exit ${result.status}): ${result.stderr}`);
        return result.stdout;
    }

    /** Runs the health agent in a proxy namespace, with a state folder of that namespace's own (all
     *  namespaces share the host's /run). */
    runAgent(nsName: string, agent: string): RunResult {
        const file = path.join(this.state.dir, `agent-${nsName}.sh`);
        fs.writeFileSync(file, agent, { mode: 0o600 });
        const env = { ...process.env, CROSS_REGION_PROXY_STATE: path.join(this.state.dir, `agent-state-${nsName}`) };
        return inNs(nsName, "bash", [file], { allowFailure: true, env });
    }

    /** Runs a script text as root inside a namespace: `ip netns exec NS bash FILE`. */
    applyScript(nsName: string, script: string, label = "proxy-script"): RunResult {
        const file = path.join(this.state.dir, `${label}-${nsName}-${Date.now()}.sh`);
        fs.writeFileSync(file, script, { mode: 0o600 });
        return inNs(nsName, "bash", [file], { allowFailure: true });
    }

    /** Renders and applies the forwarding script on every proxy; throws if any run fails. */
    applyToAllProxies(destinations: readonly string[], extra: readonly string[] = []): string {
        const script = this.renderScript(destinations, extra);
        for (const p of this.state.proxies) {
            const result = this.applyScript(p.ns, script);
            if (result.status !== 0) throw new Error(`forwarding script failed in ${p.ns} (exit ${result.status}): ${result.stderr}`);
        }
        return script;
    }

    /** curl from the client namespace, as the user does. */
    userCurl(url: string, extra: readonly string[] = [], resolveTo = VIP): RunResult {
        const u = new URL(url);
        const port = u.port || (u.protocol === "https:" ? "443" : "80");
        return inNs(this.state.ns.client, "curl", ["-sS", "--max-time", "10", "--cacert", this.state.caCert,
            "--resolve", `${u.hostname}:${port}:${resolveTo}`, ...extra, url], { allowFailure: true });
    }

    /** Packets counted by each DNAT rule of a nat chain, keyed by --to-destination (new connections). */
    dnatCounters(nsName: string, chain: string): Map<string, number> {
        const out = inNs(nsName, "iptables-save", ["-c", "-t", "nat"]).stdout;
        const counts = new Map<string, number>();
        for (const line of out.split("\n")) {
            const m = /^\[(\d+):\d+\] -A (\S+) .*--to-destination (\S+)/.exec(line);
            if (m && m[2] === chain) counts.set(m[3], (counts.get(m[3]) ?? 0) + Number(m[1]));
        }
        return counts;
    }

    /** nlb1's count of new connections per public address (rule comment "public ADDR"). */
    publicCounters(): Map<string, number> {
        const byNode = this.dnatCounters(this.state.ns.nlb1, "NLB1-LISTENERS");
        return new Map(this.state.publicAddresses.map((addr, j) => [addr, byNode.get(this.state.albNodes[j]) ?? 0]));
    }

    /** An extra, unconnected namespace of this run (removed with the lab), e.g. to exercise rules alone. */
    addNamespace(suffix: string): string {
        if (!/^[a-z0-9-]{1,20}$/.test(suffix)) throw new Error(`bad namespace suffix '${suffix}'`);
        const name = `${this.state.prefix}-${suffix}`;
        run("ip", ["netns", "add", name]);
        inNs(name, "ip", ["link", "set", "lo", "up"]);
        return name;
    }

    /** Starts the connection holder on the ALB side (all ALB nodes, HOLD_PORT) unless it runs already. */
    startHoldServer(): void {
        if (this.state.pids.holder) return;
        const logFile = path.join(this.state.dir, "holder.log");
        const [cmd, ...args] = tcpToolArgv("serve-hold", ["--port", String(HOLD_PORT)]);
        this.state.pids.holder = startInNs(this.state.ns.alb, cmd, args, logFile, toolEnv());
        this.waitFor("connection holder", () => fs.existsSync(logFile) && fs.readFileSync(logFile, "utf8").includes("ready"));
        this.persist();
    }

    /** Removes everything of this run: processes in its namespaces, the namespaces, its directory. */
    destroy(): void {
        if (this.destroyed) return;
        this.destroyed = true;
        teardown(this.state.prefix, this.state.dir);
        unregisterActive(this);
    }
}

const TCP_TOOL = path.join(__dirname, "tools", "tcp.ts");

/** argv of the lab's TCP tool (lab/tools/tcp.ts) under node + ts-node, for running inside a namespace. */
export function tcpToolArgv(mode: string, args: readonly string[]): string[] {
    return [process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), TCP_TOOL, mode, ...args];
}

/** ts-node must compile the tool with the repository's tsconfig whatever the working directory. */
export function toolEnv(): NodeJS.ProcessEnv {
    return { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") };
}

export interface BurstResult { readonly ok: number; readonly failed: number; readonly elapsedMs: number }

/** Opens `count` new connections from a namespace (each reset once established); returns the tally. */
export function burst(nsName: string, host: string, port: number, count: number, concurrency = 32, timeoutMs = 3000): BurstResult {
    const [cmd, ...args] = tcpToolArgv("burst", ["--host", host, "--port", String(port), "--count", String(count),
        "--concurrency", String(concurrency), "--timeout-ms", String(timeoutMs)]);
    const out = inNs(nsName, cmd, args, { cwd: REPO_ROOT, env: toolEnv(), timeoutMs: 600_000 }).stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(out) as BurstResult;
}

/** A connection-holding client in a namespace, driven line by line (see lab/tools/tcp.ts `hold`). */
export class HoldClient {
    private readonly child: ChildProcessWithoutNullStreams;
    private buffer = "";
    private waiters: Array<(line: string) => void> = [];

    constructor(nsName: string, host: string, port: number, timeoutMs: number) {
        const argv = tcpToolArgv("hold", ["--host", host, "--port", String(port), "--timeout-ms", String(timeoutMs)]);
        this.child = spawn("ip", ["netns", "exec", nsName, ...argv], { cwd: REPO_ROOT, env: toolEnv(), stdio: ["pipe", "pipe", "pipe"] });
        this.child.stdout.setEncoding("utf8");
        this.child.stdout.on("data", (chunk: string) => {
            this.buffer += chunk;
            let i: number;
            while ((i = this.buffer.indexOf("\n")) >= 0) {
                const line = this.buffer.slice(0, i);
                this.buffer = this.buffer.slice(i + 1);
                this.waiters.shift()?.(line);
            }
        });
        this.child.stderr.on("data", (d: Buffer) => process.stderr.write(`hold client: ${d}`));
    }

    send<T>(command: string): Promise<T> {
        return new Promise<T>(resolve => {
            this.waiters.push(line => resolve(JSON.parse(line) as T));
            this.child.stdin.write(`${command}\n`);
        });
    }

    stop(): void {
        try { this.child.stdin.end("exit\n"); } catch { /* gone */ }
        setTimeout(() => { try { this.child.kill("SIGKILL"); } catch { /* gone */ } }, 2000).unref();
    }
}

/** `npm run --silent proxy:render -- ARGS` from the repository root. */
export function renderCli(args: readonly string[]): RunResult {
    const npmCli = process.env.npm_execpath;
    const npmArgs = ["run", "--silent", "proxy:render", "--", ...args];
    return npmCli && fs.existsSync(npmCli) && /npm-cli\.js$/.test(npmCli)
        ? run(process.execPath, [npmCli, ...npmArgs], { allowFailure: true, cwd: REPO_ROOT })
        : run("npm", npmArgs, { allowFailure: true, cwd: REPO_ROOT });
}

/** Namespaces on the host whose name starts with the given prefix. */
export function namespacesWithPrefix(prefix: string): string[] {
    const out = run("ip", ["netns", "list"], { allowFailure: true }).stdout;
    return out.split("\n").map(l => l.trim().split(/\s+/)[0]).filter(n => n && n.startsWith(`${prefix}-`));
}

/** Kills every process inside the run's namespaces (by pid), deletes the namespaces and the directory. */
export function teardown(prefix: string, dir?: string): string[] {
    const problems: string[] = [];
    const namespaces = namespacesWithPrefix(prefix);
    const pids = new Set<number>();
    for (const name of namespaces) {
        const out = run("ip", ["netns", "pids", name], { allowFailure: true }).stdout;
        for (const p of out.split(/\s+/).filter(Boolean)) pids.add(Number(p));
    }
    const alive = (pid: number) => {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            return !/^\d+ \(.*\) Z/.test(stat);
        } catch {
            return false;
        }
    };
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        for (const pid of pids) {
            try { if (alive(pid)) process.kill(pid, signal); } catch { /* already gone */ }
        }
        const deadline = Date.now() + 3000;
        while ([...pids].some(alive) && Date.now() < deadline) sleep(50);
    }
    for (const name of namespaces) {
        const r = run("ip", ["netns", "del", name], { allowFailure: true });
        if (r.status !== 0) problems.push(`ip netns del ${name}: ${r.stderr.trim()}`);
    }
    if (dir && fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
    const left = namespacesWithPrefix(prefix);
    if (left.length) problems.push(`namespaces left: ${left.join(" ")}`);
    return problems;
}

// Every live lab of this process, removed on exit, Ctrl-C or SIGTERM whatever else happens.
const active = new Set<Lab>();
let handlersInstalled = false;

function registerActive(lab: Lab): void {
    active.add(lab);
    if (handlersInstalled) return;
    handlersInstalled = true;
    process.on("exit", destroyActiveLabs);
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
        process.on(signal, () => {
            process.stderr.write(`\n${signal}: removing the lab before exiting\n`);
            destroyActiveLabs();
            process.exit(code);
        });
    }
}

function unregisterActive(lab: Lab): void {
    active.delete(lab);
}

export function destroyActiveLabs(): void {
    for (const lab of [...active]) {
        try { lab.destroy(); } catch (err) { process.stderr.write(`cleanup: ${(err as Error).message}\n`); }
    }
}

/** Keeps a lab alive after this process exits (npm run lab -- --keep). */
export function detach(lab: Lab): void {
    active.delete(lab);
}

/** What the host looks like from outside any lab: namespaces, links, netfilter rules. */
export interface HostSnapshot {
    readonly namespaces: string[];
    readonly links: string[];
    readonly iptables: string[];
    readonly nft: string[];
}

export function hostSnapshot(): HostSnapshot {
    const lines = (s: string) => s.split("\n").map(l => l.trimEnd()).filter(l => l !== "");
    const namespaces = lines(run("ip", ["netns", "list"], { allowFailure: true }).stdout).map(l => l.split(/\s+/)[0]).sort();
    const links = lines(run("ip", ["-o", "link", "show"], { allowFailure: true }).stdout)
        .map(l => l.split(":")[1].trim().split("@")[0]).sort();
    const iptables = lines(run("iptables-save", [], { allowFailure: true }).stdout).filter(l => !l.startsWith("#"))
        .map(l => l.replace(/\[\d+:\d+\]/g, "[]"));
    const nft = which("nft") ? lines(run("nft", ["list", "ruleset"], { allowFailure: true }).stdout) : [];
    return { namespaces, links, iptables, nft };
}

/**
 * Differences between two snapshots, as readable lines; empty when the host is as it was. With ownPrefix,
 * namespaces that other runs (another lab, another tool) add or remove meanwhile are not counted.
 */
export function hostDifferences(before: HostSnapshot, after: HostSnapshot, ownPrefix?: string): string[] {
    const diff: string[] = [];
    for (const key of ["namespaces", "links", "iptables", "nft"] as const) {
        const counts = (x: string) => key !== "namespaces" || !ownPrefix || x.startsWith(`${ownPrefix}-`);
        const b = new Set(before[key]);
        const a = new Set(after[key]);
        for (const x of after[key]) if (!b.has(x) && counts(x)) diff.push(`extra ${key}: ${x}`);
        for (const x of before[key]) if (!a.has(x) && counts(x)) diff.push(`missing ${key}: ${x}`);
    }
    return diff;
}
