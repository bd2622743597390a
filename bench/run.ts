// sudo npm run bench [-- --help]
//
// Four data paths over the same forwarding lab (bench/paths.ts): routed (no NAT), the rendered script,
// HAProxy (TCP) and nginx stream. Load comes from wrk and iperf3 (C) in 16 client namespaces, one
// address each. The paths are measured interleaved (ABBA) for --rounds rounds; each measurement is
// --seconds of sustained new connections (Connection: close), then keep-alive requests, then iperf3.
// Prints the table (median, spread, ratio to routed, kernel counters), the issue's targets, and writes
// the SVG chart (and with --json the raw figures). Root only; the lab is removed on exit or Ctrl-C.
import * as fs from "node:fs";
import * as os from "node:os";
import { isRoot, run, which } from "../lab/exec";
import { isUsageError } from "../core/cli";
import { USER_HOST } from "../lab/constants";
import { hostDifferences, hostSnapshot } from "../lab/host";
import { createLab } from "../lab/lab";
import { missingPrerequisites } from "../lab/prerequisites";
import { renderChart } from "./chart";
import { addClients, Client } from "./clients";
import {
    BACKEND_KEYS, CLIENT_KEYS, CONNTRACK_KEYS, conntrackCount, delta, pick, readConntrackStats, readNstat, sum,
} from "./counters";
import { runIperf } from "./iperf";
import { BenchOptions, parseBenchArgs, USAGE } from "./options";
import { BenchPath, setUpPaths } from "./paths";
import { NGINX_STREAM_MODULE } from "./proxies";
import { BenchResult, checkTargets, formatTable, Measurement, summarizeResult } from "./results";
import { abbaSchedule } from "./schedule";
import { runWrk, writeWrkScript } from "./wrk";

const BENCH_TOOLS = [
    { tool: "wrk", pkg: "wrk" }, { tool: "iperf3", pkg: "iperf3" }, { tool: "haproxy", pkg: "haproxy" },
    { tool: "nstat", pkg: "iproute2" }, { tool: NGINX_STREAM_MODULE, pkg: "libnginx-mod-stream" },
];

function report(result: BenchResult, chartFile: string): void {
    const summary = summarizeResult(result);
    console.log(`\n${formatTable(summary)}\n`);
    for (const t of checkTargets(summary)) {
        console.log(`  target ${t.what}: ${t.ratio.toFixed(2)}x (>= ${t.target}x) ${t.met ? "met" : "NOT met"}`);
    }
    const m = result.machine;
    const loads = result.measurements.map(x => x.load1);
    const caption = `${result.command} | ${m.date} | ${m.nproc} CPUs, kernel ${m.kernel}, 1-min load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} during the run`;
    fs.writeFileSync(chartFile, renderChart(summary, caption));
    console.log(`\n  chart: ${chartFile}   (${caption})`);
}

async function measure(path: BenchPath, round: number, clients: readonly Client[], albNs: string, scripts: { close: string; keepalive: string },
    o: BenchOptions): Promise<Measurement> {
    const load1 = os.loadavg()[0];
    const jobs = clients.map((c, i) => ({ ns: c.ns, url: `http://${path.target(i)}/__lab/ok` }));
    const snapshot = () => ({ ct: readConntrackStats(path.ns), backend: readNstat(albNs), clients: sum(clients.map(c => readNstat(c.ns))) });
    const before = snapshot();
    const churn = await runWrk(jobs, scripts.close, o.connections, o.seconds);
    const after = snapshot();
    const count = conntrackCount(path.ns);
    const keepalive = await runWrk(jobs, scripts.keepalive, o.connections, o.keepaliveSeconds);
    const bulkGbps = runIperf(clients[0].ns, path.target(0), o.bulkSeconds);
    return {
        round, path: path.name, load1,
        newConnPerSecond: churn.perSecond, newConnErrors: churn.errors,
        keepalivePerSecond: keepalive.perSecond, keepaliveErrors: keepalive.errors,
        bulkGbps,
        conntrack: pick(delta(before.ct, after.ct), CONNTRACK_KEYS),
        conntrackCount: count,
        backend: pick(delta(before.backend, after.backend), BACKEND_KEYS),
        clients: pick(delta(before.clients, after.clients), CLIENT_KEYS),
    };
}

async function bench(o: BenchOptions, argv: readonly string[]): Promise<number> {
    if (!isRoot()) {
        console.error("The bench builds namespaces and netfilter rules: run it as root, e.g. sudo npm run bench");
        return 1;
    }
    const missing = [...missingPrerequisites(), ...BENCH_TOOLS.filter(t => !which(t.tool)).map(t => `${t.tool} (Debian package ${t.pkg})`)];
    if (missing.length) {
        console.error(`The bench needs:\n  ${missing.join("\n  ")}\n(bash .ci/run installs them on Debian)`);
        return 1;
    }
    const started = Date.now();
    const loadBefore = os.loadavg();
    const hostBefore = hostSnapshot();
    const lab = createLab({ proxies: 4, log: s => console.log(s) });
    const measurements: Measurement[] = [];
    let described: BenchResult["paths"] = [];
    try {
        const clients = addClients(lab, o.clients);
        const destinations = lab.state.publicAddresses.slice(0, o.destinations);
        const { paths } = setUpPaths(lab, clients, destinations, o.paths, o.render, s => console.log(s));
        described = paths.map(p => ({ name: p.name, what: p.what }));
        const scripts = {
            close: writeWrkScript(lab.state.dir, "close", USER_HOST, true),
            keepalive: writeWrkScript(lab.state.dir, "keepalive", USER_HOST, false),
        };
        const schedule = abbaSchedule(paths, o.rounds);
        console.log(`${schedule.length} measurements (${o.rounds} ABBA rounds): ${o.seconds} s new connections + ${o.keepaliveSeconds} s keep-alive ` +
            `(${o.clients} clients x ${o.connections} connections, wrk) + ${o.bulkSeconds} s iperf3 each`);
        for (const [i, slot] of schedule.entries()) {
            const m = await measure(slot.path, slot.round, clients, lab.state.ns.alb, scripts, o);
            measurements.push(m);
            console.log(`  [${i + 1}/${schedule.length}] round ${m.round + 1} ${m.path.padEnd(8)} load ${m.load1.toFixed(1)}: ` +
                `${Math.round(m.newConnPerSecond)} new conn/s, ${Math.round(m.keepalivePerSecond)} req/s, ${m.bulkGbps.toFixed(1)} Gb/s; ` +
                `PAWSTimewait ${m.backend.TcpExtPAWSTimewait}, SYN retrans ${m.clients.TcpExtTCPSynRetrans}, ct found ${m.conntrack.found}, ` +
                `insert_failed ${m.conntrack.insert_failed}, entries ${m.conntrackCount}`);
        }
    } finally {
        lab.destroy();
    }
    const result: BenchResult = {
        command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
        machine: {
            nproc: os.cpus().length, kernel: run("uname", ["-r"]).stdout.trim(),
            loadBefore, loadAfter: os.loadavg(), date: new Date().toISOString(),
        },
        settings: { ...o, chart: undefined, json: undefined },
        paths: described,
        measurements,
    };
    if (o.json) fs.writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
    report(result, o.chart);
    const differences = hostDifferences(hostBefore, hostSnapshot(), lab.state.prefix);
    console.log(`bench done in ${((Date.now() - started) / 1000).toFixed(0)} s; host check: ${differences.length ? differences.join(", ") : "no extra namespace, link or rule"}`);
    return differences.length ? 1 : 0;
}

async function main(argv: readonly string[]): Promise<number> {
    const o = parseBenchArgs(argv);
    if (o.help) {
        console.log(USAGE);
        return 0;
    }
    if (o.chartFrom) {
        report(JSON.parse(fs.readFileSync(o.chartFrom, "utf8")) as BenchResult, o.chart);
        return 0;
    }
    return bench(o, argv);
}

main(process.argv.slice(2)).then(code => { process.exitCode = code; }, (err: unknown) => {
    const usage = isUsageError(err);
    console.error(usage ? `bench: ${(err as Error).message}\n${USAGE}` : `bench: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = usage ? 2 : 1;
});
