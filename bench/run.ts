// npm run bench [-- --seconds 3] [--connections 3000] [--repeat 2] [--destinations 3] [--json]
//
// On one forwarding lab (lab/topology.ts), compares three data paths from the client namespace to the
// ALB stand-in, over the same namespaces and veth hops:
//   direct    no proxy function: proxy1 only routes (ip_forward, no NAT), the client aims at a destination
//   iptables  proxy0 runs exactly the rendered forwarding script (DNAT cascade + MASQUERADE)
//   haproxy   proxy1 runs HAProxy in TCP mode over the same destinations (a user-space peer)
// and reports new connections per second, small HTTP requests per second (keep-alive) and bulk transfer
// rate, each as a ratio to the direct path. Bounded: a few seconds per measurement, median of --repeat runs.
// Root only; removes the lab on exit, failure or Ctrl-C.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { inNs, isRoot, run, startInNs, sleep, which } from "../lab/exec";
import { REPO_ROOT, USER_HOST } from "../lab/constants";
import { burst, tcpToolArgv, toolEnv } from "../lab/drivers";
import { hostDifferences, hostSnapshot } from "../lab/host";
import { createLab, Lab } from "../lab/lab";
import { missingPrerequisites } from "../lab/prerequisites";
import { intFlag } from "../lab/flags";
import { isUsageError } from "../core/cli";

const USAGE = "usage: npm run bench [-- --seconds 1-30 (3)] [--connections 100-50000 (3000)] [--repeat 1-5 (2)] [--destinations 1-6 (3)] [--json]";

interface PathUnderTest { readonly name: "direct" | "iptables" | "haproxy"; readonly host: string; readonly what: string }
interface Measurement { connPerSec: number; reqPerSec: number; mbPerSec: number; errors: number }

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function httpLoad(lab: Lab, host: string, urlPath: string, concurrency: number, seconds: number) {
    const [cmd, ...args] = tcpToolArgv("http-load", ["--host", host, "--port", "80", "--host-header", USER_HOST,
        "--path", urlPath, "--concurrency", String(concurrency), "--seconds", String(seconds)]);
    const out = inNs(lab.state.ns.client, cmd, args, { cwd: REPO_ROOT, env: toolEnv(), timeoutMs: (seconds + 30) * 1000 }).stdout;
    return JSON.parse(out.trim().split("\n").pop() ?? "{}") as { requests: number; bytes: number; errors: number; seconds: number };
}

function setUp(lab: Lab, destinations: readonly string[]): PathUnderTest[] {
    const { state } = lab;
    const [p0, p1] = state.proxies;
    // iptables: exactly the rendered script, on proxy0.
    const applied = lab.applyScript(p0.ns, lab.renderScript(destinations));
    if (applied.status !== 0) throw new Error(`forwarding script failed: ${applied.stderr}`);
    // direct: proxy1 as a plain router, and routes that let the client reach a destination without any NAT.
    inNs(p1.ns, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
    inNs(p1.ns, "iptables", ["-w", "-P", "FORWARD", "ACCEPT"]);
    for (const d of destinations) inNs(state.ns.nlb2, "ip", ["route", "add", `${d}/32`, "via", p1.inAddress]);
    inNs(state.ns.nlb1, "ip", ["route", "add", "198.18.1.0/24", "via", p1.outAddress]);
    // haproxy: TCP mode in proxy1, round robin over the same destinations, same port.
    const conf = path.join(state.dir, "haproxy.cfg");
    fs.writeFileSync(conf, [
        "global",
        "    maxconn 8000",
        `    pidfile ${path.join(state.dir, "haproxy.pid")}`,
        "defaults",
        "    mode tcp",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "frontend listeners",
        `    bind ${p1.inAddress}:80`,
        "    default_backend destinations",
        "backend destinations",
        "    balance roundrobin",
        ...destinations.map((d, i) => `    server d${i} ${d}:80`),
        "",
    ].join("\n"));
    run("haproxy", ["-c", "-q", "-f", conf]);
    state.pids.haproxy = startInNs(p1.ns, "haproxy", ["-db", "-f", conf], path.join(state.dir, "haproxy.log"));
    const deadline = Date.now() + 10_000;
    while (inNs(state.ns.client, "curl", ["-sf", "-o", "/dev/null", "-H", `Host: ${USER_HOST}`, `http://${p1.inAddress}/__lab/ok`],
        { allowFailure: true }).status !== 0) {
        if (Date.now() > deadline) throw new Error(`haproxy did not answer:\n${fs.readFileSync(path.join(state.dir, "haproxy.log"), "utf8")}`);
        sleep(200);
    }
    const paths: PathUnderTest[] = [
        { name: "direct", host: destinations[0], what: `client -> ${destinations[0]} routed through ${p1.ns} (no NAT, no proxy)` },
        { name: "iptables", host: p0.inAddress, what: `client -> ${p0.inAddress} (${p0.ns}: rendered script, DNAT over ${destinations.length} + MASQUERADE)` },
        { name: "haproxy", host: p1.inAddress, what: `client -> ${p1.inAddress} (${p1.ns}: HAProxy ${haproxyVersion()} TCP mode, round robin over ${destinations.length})` },
    ];
    for (const p of paths) {
        const r = inNs(state.ns.client, "curl", ["-sS", "--max-time", "5", "-H", `Host: ${USER_HOST}`, `http://${p.host}/__lab/ok`], { allowFailure: true });
        if (r.stdout !== "ok\n") throw new Error(`${p.name} path does not answer: ${r.stderr}`);
    }
    return paths;
}

function haproxyVersion(): string {
    return /version (\S+)/.exec(run("haproxy", ["-v"]).stdout)?.[1] ?? "?";
}

function measure(lab: Lab, p: PathUnderTest, connections: number, seconds: number): Measurement {
    const b = burst(lab.state.ns.client, p.host, 80, connections, 32);
    const small = httpLoad(lab, p.host, "/__lab/ok", 16, seconds);
    const bulk = httpLoad(lab, p.host, "/__lab/blob", 4, seconds);
    return {
        connPerSec: b.ok / (b.elapsedMs / 1000),
        reqPerSec: small.requests / small.seconds,
        mbPerSec: bulk.bytes / bulk.seconds / 1e6,
        errors: b.failed + small.errors + bulk.errors,
    };
}

function main(): number {
    const { values } = parseArgs({
        args: process.argv.slice(2),
        strict: true,
        options: {
            seconds: { type: "string" }, connections: { type: "string" }, repeat: { type: "string" },
            destinations: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false },
        },
    });
    if (values.help) {
        console.log(USAGE);
        return 0;
    }
    const seconds = intFlag("seconds", values.seconds, 3, 1, 30);
    const connections = intFlag("connections", values.connections, 3000, 100, 50_000);
    const repeat = intFlag("repeat", values.repeat, 2, 1, 5);
    const destinationCount = intFlag("destinations", values.destinations, 3, 1, 6);
    if (!isRoot()) {
        console.error("The bench builds the forwarding lab (network namespaces, netfilter): run it as root, e.g. sudo npm run bench");
        return 1;
    }
    const missing = [...missingPrerequisites(), ...(which("haproxy") ? [] : ["haproxy (Debian package haproxy)"])];
    if (missing.length) {
        console.error(`The bench needs:\n  ${missing.join("\n  ")}`);
        return 1;
    }
    const log = (s: string) => { if (!values.json) console.log(s); };
    const hostBefore = hostSnapshot();
    const started = Date.now();
    const lab = createLab({ proxies: 2, log });
    let results: Record<string, Measurement[]> = {};
    let paths: PathUnderTest[] = [];
    try {
        paths = setUp(lab, lab.state.publicAddresses.slice(0, destinationCount));
        for (const p of paths) log(`  ${p.name.padEnd(9)} ${p.what}`);
        log(`measuring: ${connections} new connections, ${seconds} s of small requests (16 keep-alive connections), ` +
            `${seconds} s of 4 MiB downloads (4 connections); ${repeat} round(s), median`);
        results = Object.fromEntries(paths.map(p => [p.name, [] as Measurement[]]));
        for (let round = 0; round < repeat; round++) {
            // Alternate the order so that drift (caches, CPU frequency) does not favour one path.
            const order = round % 2 ? [...paths].reverse() : paths;
            for (const p of order) results[p.name].push(measure(lab, p, connections, seconds));
        }
    } finally {
        lab.destroy();
    }
    const differences = hostDifferences(hostBefore, hostSnapshot(), lab.state.prefix);
    const summary = paths.map(p => {
        const ms = results[p.name];
        return {
            path: p.name,
            connPerSec: median(ms.map(m => m.connPerSec)),
            reqPerSec: median(ms.map(m => m.reqPerSec)),
            mbPerSec: median(ms.map(m => m.mbPerSec)),
            errors: ms.reduce((s, m) => s + m.errors, 0),
        };
    });
    const direct = summary.find(s => s.path === "direct")!;
    const rows = summary.map(s => ({
        ...s,
        connRatio: s.connPerSec / direct.connPerSec,
        reqRatio: s.reqPerSec / direct.reqPerSec,
        mbRatio: s.mbPerSec / direct.mbPerSec,
    }));
    if (values.json) {
        console.log(JSON.stringify({ seconds, connections, repeat, destinations: destinationCount, kernel: run("uname", ["-r"]).stdout.trim(),
            results: rows, hostClean: differences.length === 0 }, null, 2));
    } else {
        const f = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
        console.log(`\n  ${"path".padEnd(9)} ${"new conn/s".padStart(12)} ${"ratio".padStart(6)} ${"req/s".padStart(10)} ${"ratio".padStart(6)} ${"MB/s".padStart(9)} ${"ratio".padStart(6)} errors`);
        for (const r of rows) {
            console.log(`  ${r.path.padEnd(9)} ${f(r.connPerSec).padStart(12)} ${f(r.connRatio, 2).padStart(6)} ${f(r.reqPerSec).padStart(10)} ` +
                `${f(r.reqRatio, 2).padStart(6)} ${f(r.mbPerSec).padStart(9)} ${f(r.mbRatio, 2).padStart(6)} ${r.errors}`);
        }
        const spread = (xs: number[]) => (xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : 0);
        const worst = Math.max(...paths.flatMap(p => ["connPerSec", "reqPerSec", "mbPerSec"].map(k =>
            spread(results[p.name].map(m => m[k as keyof Measurement])))));
        if (repeat > 1) console.log(`\n  largest round-to-round spread of one figure: ${(100 * worst).toFixed(0)} % of its median: differences smaller than that are noise`);
        console.log(`\n  (kernel ${run("uname", ["-r"]).stdout.trim()}, ${os.cpus().length} CPUs shared by the load generator, nginx and the kernel; ` +
            `one machine: the ratios compare data paths, the absolute figures say nothing about EC2)`);
        console.log(`bench done in ${((Date.now() - started) / 1000).toFixed(0)} s; host check: ${differences.length ? differences.join(", ") : "no extra namespace, link or rule"}`);
    }
    return differences.length ? 1 : 0;
}

try {
    process.exitCode = main();
} catch (err) {
    const usage = isUsageError(err);
    console.error(usage ? `bench: ${(err as Error).message}\n${USAGE}` : `bench: ${(err as Error).stack ?? err}`);
    process.exitCode = usage ? 2 : 1;
}
