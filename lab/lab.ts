// A forwarding lab of this run: builds the namespaces, links, stand-ins, PKI, httpbin and nginx (see
// lab/constants.ts for the picture), applies rendered scripts to the proxies, and removes it all.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DeclaredResource } from "../offline/mocks";
import { renderAlbNginxConf } from "./albNginx";
import { AlbModel, albModel } from "./albStandIn";
import {
    CLIENT_ADDRESS, DOMAIN, EDGE_ADDRESS, EDGE_NLB2_ADDRESS, HOLD_PORT, HTTPBIN_PORT, IMDS_ADDRESS, link, LISTENER_PORTS, NAME_PREFIX,
    PUBLIC_ADDRESSES, SECOND_REGION_ADDRESSES, VIP,
} from "./constants";
import { declaredStacks, DeclaredStacks } from "./declared";
import { renderCli, tcpToolArgv, toolEnv } from "./drivers";
import { edgeModel, startEdge } from "./edge";
import { inNs, run, RunResult, sleep, startInNs } from "./exec";
import { dnatCounters } from "./netfilter";
import { pythonEnv } from "./prerequisites";
import { NLB1_CHAIN, renderNlb1Rules, renderNlb2Rules } from "./standins";
import { registerActive, teardown, unregisterActive } from "./teardown";
import { issueLeaf, makeCa } from "./tls";

const IMDS_TOOL = path.join(__dirname, "tools", "imds.ts");

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

/** One region's NLB-1 stand-in: its namespace, the public addresses it owns and the ALB node each forwards to. */
export interface RegionStandIn {
    readonly ns: string;
    readonly publicAddresses: readonly string[];
    readonly albNodes: readonly string[];
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
    /** Every region's NLB-1: the first is nlb1 above; with `regions: 2`, a second one (nlb1b). */
    readonly regions: readonly RegionStandIn[];
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
    /** NLB-1 stand-ins: 1 (default), or 2 for a second global region. */
    readonly regions?: 1 | 2;
    readonly runId?: string;
    /** Progress lines (default: none). */
    readonly log?: (line: string) => void;
}

export function newRunId(): string {
    return crypto.randomBytes(3).toString("hex");
}

export function labDir(runId: string): string {
    return path.join(os.tmpdir(), `crp-lab-${runId}`);
}

/** Builds the whole lab except the proxies' forwarding rules. On any failure it removes what it made. */
export function createLab(options: LabOptions = {}): Lab {
    const runId = options.runId ?? newRunId();
    if (!/^[0-9a-f]{6}$/.test(runId)) throw new Error(`run id must be 6 hex digits, got '${runId}'`);
    const proxyCount = options.proxies ?? 2;
    if (!Number.isInteger(proxyCount) || proxyCount < 1 || proxyCount > 8) throw new Error("proxies: 1 to 8");
    const prefix = `${NAME_PREFIX}${runId}`;
    const dir = labDir(runId);
    const albNodes = PUBLIC_ADDRESSES.map((_, j) => link(30, 10 + j));
    const regions: RegionStandIn[] = [{ ns: `${prefix}-nlb1`, publicAddresses: PUBLIC_ADDRESSES, albNodes },
        ...(options.regions === 2 ? [{ ns: `${prefix}-nlb1b`, publicAddresses: SECOND_REGION_ADDRESSES, albNodes: SECOND_REGION_ADDRESSES.map((_, j) => link(31, 10 + j)) }] : [])];
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
        albNodes,
        regions,
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

export class Lab {
    private destroyed = false;

    constructor(readonly state: LabState, private readonly log: (line: string) => void) { }

    get runId(): string { return this.state.runId; }
    get namespaces(): string[] {
        return [this.state.ns.client, this.state.ns.edge, this.state.ns.nlb2, ...this.state.proxies.map(p => p.ns),
            ...this.state.regions.map(r => r.ns), this.state.ns.alb];
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

        for (const second of this.state.regions.slice(1)) this.buildSecondRegion(second);

        for (const router of [ns.nlb2, ...this.state.regions.map(r => r.ns)]) inNs(router, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
        inNs(ns.nlb2, "iptables-restore", ["-w"], { input: renderNlb2Rules(VIP, LISTENER_PORTS, proxies.map(p => ({ name: p.ns, address: p.inAddress }))) });
        for (const region of this.state.regions) {
            inNs(region.ns, "iptables-restore", ["-w"], { input: renderNlb1Rules(region.publicAddresses, region.albNodes) });
        }

        makeCa(path.join(this.state.dir, "pki"), this.runId);
        this.startAlb(declared.global);
        this.startEdgeStandIn(declared.china);
        this.persist();
    }

    /**
     * A second region's NLB-1 in its own namespace, on its own path: each proxy reaches its addresses over a second
     * link (pN-outb: MASQUERADE then takes that link's address), and it reaches the ALB over a second link, where
     * its ALB nodes live; the ALB routes replies to the proxies' second links back through it, so each region's
     * DNAT sees both directions, as each NLB-1 does. Dark for the lab = this namespace drops everything.
     */
    private buildSecondRegion(region: RegionStandIn): void {
        const { ns, proxies } = this.state;
        this.veth(region.ns, "n1b-alb", `${link(31, 1)}/24`, ns.alb, "alb-inb", `${link(31, 2)}/24`);
        for (const node of region.albNodes) inNs(ns.alb, "ip", ["addr", "add", `${node}/24`, "dev", "alb-inb"]);
        for (const p of proxies) {
            const [proxySide, regionSide] = [link(40 + p.index, 2), link(40 + p.index, 1)];
            this.veth(p.ns, `p${p.index}-outb`, `${proxySide}/24`, region.ns, `n1b-p${p.index}`, `${regionSide}/24`);
            for (const addr of region.publicAddresses) inNs(p.ns, "ip", ["route", "add", `${addr}/32`, "via", regionSide, "dev", `p${p.index}-outb`]);
            inNs(ns.alb, "ip", ["route", "add", `${link(40 + p.index, 0)}/24`, "via", link(31, 1)]);
        }
        for (const addr of region.publicAddresses) inNs(region.ns, "ip", ["addr", "add", `${addr}/32`, "dev", "lo"]);
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
        const conf = path.join(dir, "nginx.conf");
        fs.writeFileSync(conf, renderAlbNginxConf({
            runId: this.runId, dir, accessLog: this.state.albAccessLog, model, files: c => leaves.get(c.names.join(","))!,
        }));
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

    /** Runs a script text as root inside a namespace: `ip netns exec NS bash FILE`. */
    applyScript(nsName: string, script: string, label = "proxy-script"): RunResult {
        const file = path.join(this.state.dir, `${label}-${nsName}-${Date.now()}.sh`);
        fs.writeFileSync(file, script, { mode: 0o600 });
        // The script's lock and record live in the run's folder, not in the host's /run.
        const env = { ...process.env, CROSS_REGION_PROXY_STATE: path.join(this.state.dir, `state-${nsName}`) };
        return inNs(nsName, "bash", [file], { allowFailure: true, env });
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

    /** Every region's NLB-1 count of new connections per public address (rule comment "public ADDR"). */
    publicCounters(): Map<string, number> {
        return new Map(this.state.regions.flatMap(region => {
            const byNode = dnatCounters(region.ns, NLB1_CHAIN);
            return region.publicAddresses.map((addr, j) => [addr, byNode.get(region.albNodes[j]) ?? 0] as const);
        }));
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
        this.startAlbSideServer("serve-hold", HOLD_PORT);
    }

    /** Starts a server of the lab's TCP tool (serve-echo, serve-hold) on the ALB side, on every ALB node, at PORT. */
    startAlbSideServer(mode: "serve-echo" | "serve-hold", port: number): void {
        const key = `${mode}-${port}`;
        if (this.state.pids[key]) return;
        const logFile = path.join(this.state.dir, `${key}.log`);
        const [cmd, ...args] = tcpToolArgv(mode, ["--port", String(port)]);
        this.state.pids[key] = startInNs(this.state.ns.alb, cmd, args, logFile, toolEnv());
        this.waitFor(key, () => fs.existsSync(logFile) && fs.readFileSync(logFile, "utf8").includes("ready"));
        this.persist();
    }

    /**
     * An instance metadata service for a namespace (lab/tools/imds.ts) at 169.254.169.254, an address of
     * that namespace's loopback, so that the agent's IMDSv2 calls stay inside it. Returns the file of
     * its values (metadata path -> value), read at every request: rewrite it to change an answer.
     */
    startImds(ns: string, values: Record<string, string>): string {
        const file = path.join(this.state.dir, `imds-${ns}.json`);
        fs.writeFileSync(file, JSON.stringify(values));
        inNs(ns, "ip", ["addr", "add", `${IMDS_ADDRESS}/32`, "dev", "lo"]);
        const logFile = path.join(this.state.dir, `imds-${ns}.log`);
        this.state.pids[`imds-${ns}`] = startInNs(ns, process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"),
            IMDS_TOOL, "--address", IMDS_ADDRESS, "--values", file], logFile, toolEnv());
        this.waitFor(`IMDS in ${ns}`, () => fs.existsSync(logFile) && fs.readFileSync(logFile, "utf8").includes("ready"));
        this.persist();
        return file;
    }

    /** Removes everything of this run: processes in its namespaces, the namespaces, its directory. */
    destroy(): void {
        if (this.destroyed) return;
        this.destroyed = true;
        teardown(this.state.prefix, this.state.dir);
        unregisterActive(this);
    }
}
