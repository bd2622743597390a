// The agent lab (npm run test:lab): the rendered agent as a long-lived process in a proxy namespace, under a
// steady stream of new connections with held ones, against dead destinations, drift, concurrency and
// truncated files. Root only; with CI=true a missing root or tool fails instead of skipping.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { median } from "../bench/stats";
import { Agent, AGENT_IDENTITY, Outage, outage, outageFigures, startAgent as startAgentIn, StreamClient } from "./agentRun";
import { awsStandIn, recorded } from "./awsStandIn";
import { inNs } from "./exec";
import { labFigures, seconds } from "./figures";
import { installedDestinations, isOurs, replySourceByClientPort, saveRules, sysctl } from "./netfilter";
import { HOLD_PORT, LISTENER_PORTS } from "./constants";
import { createLab, Lab } from "./lab";
import { pause, until } from "./poll";
import { requireLabHost } from "./prerequisites";
import { METRICS, METRICS_NAMESPACE, REGION_DIMENSION, REGION_METRICS } from "../proxy/agent";
import { ENA_ALLOWANCE_COUNTERS } from "../proxy/fleetSignals";
import { DEFAULT_REGION_NAME } from "../proxy/regions";
import { Rule, rulesOf, withoutCounters } from "../proxy/iptablesSave";
import { DEFAULT_TIME_WAIT_TIMEOUT_SECONDS } from "../proxy/spec";

const HOW_TO_RUN = "the agent lab needs root (network namespaces, netfilter): sudo env PATH=\"$PATH\" npm run test:lab";
const PORTS = [...LISTENER_PORTS, HOLD_PORT];
const { group: GROUP, instance: INSTANCE, region: REGION } = AGENT_IDENTITY;

const { report, print: printFigures } = labFigures("Agent lab figures");

/** Our chains, their rules and every jump to them, as iptables-save prints them: "the owned state". */
const ours = (r: Rule) => isOurs(r) || (r.jump ?? "").startsWith("CRPROXY-");
const owned = (ns: string) => saveRules(ns).flatMap(t => [`*${t.name}`,
    ...t.chains.filter(c => c.name.startsWith("CRPROXY-")).map(c => `:${c.name}`), ...t.rules.filter(ours).map(r => r.line)]);
/** The whole dump as comparable lines. */
const dump = (ns: string) => withoutCounters(saveRules(ns));

/**
 * A stand-in `ethtool` on PATH: `-S DEVICE` prints the ENA allowance counters from FILE (one "name value" a line)
 * for that device as an ENA driver does, and what a veth prints for any other device.
 */
function ethtoolStandIn(dir: string, device: string, file: string): string {
    const bin = path.join(dir, "ethtool-bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "ethtool"), `#!/bin/bash
[ "$1" = -S ] || exit 1
echo "NIC statistics:"
if [ "$2" = ${device} ]; then
  echo "     tx_timeout: 0"
  while read -r name value; do printf '     %s: %s\\n' "$name" "$value"; done <${file}
  echo "     conntrack_allowance_available: 136812"
else
  echo "     peer_ifindex: 2"
fi
`, { mode: 0o755 });
    return bin;
}

describe("proxy agent lab (network namespaces, root)", function () {
    let lab: Lab | undefined;
    let agent: Agent | undefined;
    let script = "";
    let agentText = "";
    let awsBin = "";
    let ethtoolBin = "";
    let enaFile = "";
    /** The stand-in ENA driver's counters: each allowance counter at base, base + 1, ... in ENA_ALLOWANCE_COUNTERS order. */
    const writeEna = (base: number) => fs.writeFileSync(enaFile,
        Object.keys(ENA_ALLOWANCE_COUNTERS).map((name, i) => `${name} ${base + i}\n`).join(""));
    const L = () => {
        if (!lab) throw new Error("lab not up");
        return lab;
    };
    const dests = () => L().state.publicAddresses.slice(0, 3);
    const p0 = () => L().state.proxies[0];
    const block = (address: string, add: boolean) =>
        inNs(L().state.ns.nlb1, "iptables", ["-w", "-t", "raw", add ? "-I" : "-D", "PREROUTING", "-d", address, "-p", "tcp", "-j", "DROP"]);
    const installed = () => installedDestinations(saveRules(p0().ns)).map(d => d.destination);
    const agentLog = () => (agent ? fs.readFileSync(agent.log, "utf8") : "");

    /** Writes a program and runs it in a namespace with a state directory of its own. */
    const runProgram = (ns: string, text: string, name: string, state: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) => {
        const file = path.join(L().state.dir, `${name}.sh`);
        fs.writeFileSync(file, text, { mode: 0o600 });
        return inNs(ns, "bash", [file, ...args], { allowFailure: true, env: { ...process.env, CROSS_REGION_PROXY_STATE: state, ...env } });
    };

    const startAgent = (ns: string, name: string, env: NodeJS.ProcessEnv = {}): Agent => startAgentIn(ns, agentText, L().state.dir, name, awsBin, env);

    before(function () {
        requireLabHost(this, "agent lab", HOW_TO_RUN);
        lab = createLab({ proxies: 1 });
        awsBin = awsStandIn(lab.state.dir);
        // The agent asks IMDS whether Auto Scaling terminates the instance: answered inside the namespace.
        lab.startImds(lab.state.proxies[0].ns, { "instance-id": INSTANCE, "placement/region": REGION,
            "tags/instance/aws:autoscaling:groupName": GROUP, "autoscaling/target-lifecycle-state": "InService" });
        enaFile = path.join(lab.state.dir, "ena-counters");
        writeEna(0);
        ethtoolBin = ethtoolStandIn(lab.state.dir, lab.state.proxies[0].outInterface, enaFile);
        script = lab.renderScript(dests(), [], PORTS);
        agentText = lab.renderScript(dests(), [], PORTS, "agent");
        lab.startHoldServer();
    });

    after(function () {
        if (agent) try { process.kill(agent.pid, "SIGTERM"); } catch { /* gone */ }
        lab?.destroy();
        printFigures();
    });

    it("started alone on a proxy without our chains, installs the whole forwarding state within one interval", function () {
        const ns = p0().ns;
        assert.equal(owned(ns).filter(l => l.startsWith("-A")).length, 0, "nothing of ours before");
        const t0 = Date.now();
        agent = startAgent(ns, "agent-p0", { PATH: `${awsBin}:${ethtoolBin}:${process.env.PATH}` });
        const ms = until("the agent installs the rules", () => installed().length === 3, 5000);
        // Exactly what the forwarding script installs on a fresh namespace.
        const reference = L().addNamespace("reference");
        const r = runProgram(reference, script, "script-reference", path.join(L().state.dir, "reference-state"));
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(owned(ns), owned(reference));
        assert.equal(sysctl(ns, "net.ipv4.ip_forward"), "1");
        report(`bare proxy: the agent installed the whole forwarding state ${seconds(ms)} s after it started (interval 1 s), identical to the script's`);
        assert.ok(Date.now() - t0 < 3000);
    });

    it("ejects a dead destination within 3 s and readmits it within 3 s, under >= 50 new connections/s with 220 held: 0 failures after ejection, 0 held connections reset", async function () {
        const ns = p0().ns;
        const stream = new StreamClient(L().state.ns.client, p0().inAddress, 80, 60, HOLD_PORT, 220);
        const held = await stream.ready();
        assert.ok(held.held >= 200, `held ${held.held}`);
        const holders = replySourceByClientPort(ns, HOLD_PORT);
        const events: Outage[] = [];
        let result: { attempts: number; failures: number[]; closed: number[] };
        try {
            await pause(3000);
            for (let trial = 0; trial < 6; trial++) {
                const dead = dests()[trial % 3];
                events.push(await outage(dead, on => block(dead, on), () => !installed().includes(dead), () => installed().includes(dead), 2000));
                await pause(2000);
            }
            // The ENA counters move while the stream runs: 10 more of each, reported as deltas.
            writeEna(10);
            await pause(4000);
        } finally {
            result = await stream.finish();
        }
        const { gone: ejects, back: readmits, failedBefore: perEvent, failedAfter: afterEjection, failedReadmitting: duringReadmit } =
            outageFigures(events, result.failures);
        const healthyReset = result.closed.filter(p => holders.get(p) !== undefined).length;
        report(`eject (${events.length} trials, ${result.attempts} new connections at 60/s, ${held.held} held): ` +
            `median ${seconds(median(ejects))} s, max ${seconds(Math.max(...ejects))} s; readmit: median ${seconds(median(readmits))} s, max ${seconds(Math.max(...readmits))} s`);
        report(`failed new connections per ejection: [${perEvent.join(", ")}]; after ejection: [${afterEjection.join(", ")}]; ` +
            `while readmitting: [${duringReadmit.join(", ")}]; held connections closed or reset: ${result.closed.length} of ${held.held} (${healthyReset} to destinations that stayed healthy)`);
        for (const ms of [...ejects, ...readmits]) assert.ok(ms <= 3000, `${ms} ms > 3 s`);
        assert.deepEqual(afterEjection, events.map(() => 0), "no new connection fails once the destination is out");
        assert.deepEqual(duringReadmit, events.map(() => 0), "readmitting loses nothing");
        assert.deepEqual(result.closed, [], "no held connection was reset");
        assert.match(agentLog(), /stopped answering: out of rotation/);
        assert.match(agentLog(), /forgot \d+ connection\(s\) to/);
    });

    it("a flapping destination (1 s dark, 1 s answering) causes at most one rewrite per 2-s window", async function () {
        const flapping = dests()[1];
        const rewrites = () => (agentLog().match(/destinations now/g) ?? []).length;
        const before = rewrites();
        const t0 = Date.now();
        for (let i = 0; i < 10; i++) {
            block(flapping, true);
            await pause(1000);
            block(flapping, false);
            await pause(1000);
        }
        const window = (Date.now() - t0) / 1000;
        const during = rewrites() - before;
        until(`${flapping} back`, () => installed().includes(flapping));
        report(`flapping ${flapping} (1 s dark / 1 s answering for ${window.toFixed(0)} s): ${during} rewrites of the destination chain`);
        assert.ok(during <= Math.ceil(window / 2), `${during} rewrites in ${window} s`);
    });

    it("repairs each kind of drift within one interval, keeping its health decisions, and logs what differed", async function () {
        const ns = p0().ns;
        const clean = owned(ns);
        const dead = dests()[2];
        block(dead, true);
        until(`${dead} leaves`, () => !installed().includes(dead));
        await pause(1500);
        const decided = owned(ns);
        const foreignRestore = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
            "-A INPUT -i lo -j ACCEPT", "COMMIT", "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]", "COMMIT", ""].join("\n");
        const drifts: Array<[string, () => void]> = [
            ["iptables -t nat -F", () => inNs(ns, "iptables", ["-w", "-t", "nat", "-F"])],
            ["CRPROXY-DESTINATIONS deleted", () => inNs(ns, "bash", ["-c",
                "iptables -w -t nat -D CRPROXY-CONNECT -j CRPROXY-DESTINATIONS && iptables -w -t nat -F CRPROXY-DESTINATIONS && iptables -w -t nat -X CRPROXY-DESTINATIONS"])],
            ["full iptables-restore of another ruleset (iptables.service)", () => inNs(ns, "iptables-restore", ["-w"], { input: foreignRestore })],
            ["iptables -F", () => inNs(ns, "iptables", ["-w", "-F"])],
            ["iptables -F -X, both tables", () => inNs(ns, "bash", ["-c", "iptables -w -F && iptables -w -X && iptables -w -t nat -F && iptables -w -t nat -X"])],
            ["duplicate jumps", () => inNs(ns, "bash", ["-c",
                "for i in 1 2; do iptables -w -t nat -A PREROUTING -m comment --comment cross-region-proxy -j CRPROXY-LISTENERS; done; iptables -w -I FORWARD 1 -m comment --comment cross-region-proxy -j CRPROXY-FORWARD"])],
            ["net.ipv4.ip_forward=0", () => inNs(ns, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=0"])],
            ["net.netfilter.nf_conntrack_tcp_timeout_time_wait=120", () => inNs(ns, "sysctl", ["-q", "-w", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=120"])],
        ];
        // The sysctls the agent owns, as rendered.
        const tuned = () => sysctl(ns, "net.ipv4.ip_forward") === "1"
            && sysctl(ns, "net.netfilter.nf_conntrack_tcp_timeout_time_wait") === String(DEFAULT_TIME_WAIT_TIMEOUT_SECONDS);
        const times: string[] = [];
        try {
            for (const [what, drift] of drifts) {
                const logBefore = agentLog().length;
                drift();
                let ms: number;
                try {
                    ms = until(`repair of '${what}'`, () => owned(ns).join("\n") === decided.join("\n") && tuned(), 5000);
                } catch (err) {
                    const now = owned(ns);
                    throw new Error(`${(err as Error).message}\nexpected, not found:\n${decided.filter(l => !now.includes(l)).join("\n")}\n` +
                        `found, not expected:\n${now.filter(l => !decided.includes(l)).join("\n")}\nagent log:\n${agentLog().slice(-3000)}`);
                }
                // One interval, plus the pass's own time on 2 busy cores.
                assert.ok(ms <= 2000, `${what}: repaired after ${ms} ms`);
                await pause(300);
                const said = agentLog().slice(logBefore);
                const [key, drifted] = what.split("=");
                assert.match(said, what.startsWith("net.")
                    ? new RegExp(`set ${key.replace(/\./g, "\\.")}=\\d+ \\(was ${drifted}\\)`) : /repairing the forwarding rules: (missing|unexpected) \[/, what);
                assert.ok(!installed().includes(dead), `${what}: the repair keeps ${dead} out`);
                for (const [table, chain] of [["nat", "PREROUTING"], ["nat", "POSTROUTING"], ["filter", "FORWARD"]]) {
                    assert.equal(rulesOf(saveRules(ns), table, chain).filter(ours).length, 1, `${what}: exactly one jump in ${table}/${chain}`);
                }
                times.push(`${what}: ${seconds(ms)} s`);
            }
        } finally {
            block(dead, false);
        }
        until(`${dead} returns`, () => installed().includes(dead));
        assert.deepEqual(owned(ns), clean);
        report(`repair (time from the drift to the owned state restored, polled every 25 ms): ${times.join("; ")}`);
    });

    it("sends its metrics to CloudWatch through the aws command every interval, in its namespace, per Auto Scaling group", function () {
        const calls = recorded(agent?.record ?? "").filter(c => c[2] === "cloudwatch");
        // Each interval: the fleet-wide call, then the per-region one (one region here: "default").
        const regionCall = (c: string[]) => (JSON.parse(c[7]) as Array<{ MetricName: string }>).some(m => m.MetricName.startsWith("Region"));
        const fleetCalls = calls.filter(c => !regionCall(c));
        assert.ok(fleetCalls.length >= 5, `${fleetCalls.length} put-metric-data calls`);
        const values: Record<string, number[]> = {};
        for (const call of calls) {
            assert.deepEqual(call.slice(0, 6), ["--region", REGION, "cloudwatch", "put-metric-data", "--namespace", METRICS_NAMESPACE]);
            assert.equal(call[6], "--metric-data");
            for (const m of JSON.parse(call[7]) as Array<{ MetricName: string; Value: number; Dimensions: unknown }>) {
                assert.deepEqual(m.Dimensions, [{ Name: "AutoScalingGroupName", Value: GROUP },
                    ...(regionCall(call) ? [{ Name: REGION_DIMENSION, Value: DEFAULT_REGION_NAME }] : [])]);
                (values[m.MetricName] ??= []).push(m.Value);
            }
        }
        assert.equal(calls.length - fleetCalls.length, fleetCalls.length, "one region call per interval");
        assert.deepEqual(Object.keys(values).sort(), [...Object.values(METRICS), ...Object.values(REGION_METRICS)].sort());
        assert.deepEqual([...new Set(values[REGION_METRICS.sharePercent])], [100], "one region takes everything");
        assert.ok(values[METRICS.healthyDestinations].includes(3) && values[METRICS.healthyDestinations].includes(2));
        assert.ok(values[METRICS.repairs].reduce((s, v) => s + v, 0) >= 7, `repairs ${values[METRICS.repairs]}`);
        assert.ok(values[METRICS.conntrackCount].some(v => v > 200));
        assert.ok(values[METRICS.conntrackMax].every(v => v === 262144));
        // The scaling signal: the stream opened 60 connections a second for a while.
        const rates = values[METRICS.newConnectionsPerSecond];
        assert.ok(rates.some(v => v >= 40 && v <= 80), `new connections/s ${rates}`);
        assert.ok(values[METRICS.draining].every(v => v === 0));
        // Each ENA allowance counter went up by 10 during the stream: exactly 10 summed over the deltas sent.
        const sum = (m: string) => values[m].reduce((a, v) => a + v, 0);
        for (const metric of Object.values(ENA_ALLOWANCE_COUNTERS)) assert.equal(sum(metric), 10, metric);
        report(`metrics: ${fleetCalls.length} put-metric-data calls recorded (and as many per region); healthy destinations seen ${[...new Set(values[METRICS.healthyDestinations])].join("/")}; ` +
            `repairs sent ${values[METRICS.repairs].reduce((s, v) => s + v, 0)}; conntrack count up to ${Math.max(...values[METRICS.conntrackCount])}; ` +
            `NewConnectionsPerSecond up to ${Math.max(...rates)} under the 60/s stream; ENA allowance deltas summed ${sum(METRICS.bwInAllowanceExceeded)} per counter (stand-in ethtool, +10 each)`);
    });

    it("fails open when no probe gets through (as with a full conntrack table), says so, and does not report itself unhealthy", async function () {
        const ns = p0().ns;
        const logBefore = agentLog().length;
        // A full table drops every new packet, the probes' SYNs first; the table itself cannot be filled here
        // (nf_conntrack_max is the host's, read-only in a namespace), so drop the probes as it would.
        inNs(ns, "iptables", ["-w", "-t", "raw", "-I", "OUTPUT", "-p", "tcp", "-j", "DROP"]);
        try {
            await pause(5000);
            const said = agentLog().slice(logBefore);
            assert.match(said, /no destination answers: keeping all 3 in rotation \(fail open\); conntrack \d+\/262144 entries/);
            assert.deepEqual(installed(), dests(), "all kept");
            const calls = recorded(agent?.record ?? "");
            const sent = calls.filter(c => c[2] === "cloudwatch").map(c => JSON.parse(c[7]) as Array<{ MetricName: string; Value: number }>);
            const lastMetrics = sent.filter(data => data.some(m => m.MetricName === METRICS.failOpen)).pop() ?? [];
            const lastRegion = sent.filter(data => data.some(m => m.MetricName === REGION_METRICS.healthyDestinations)).pop() ?? [];
            assert.equal(lastRegion.find(m => m.MetricName === REGION_METRICS.healthyDestinations)?.Value, 0, "the region is out");
            assert.equal(lastMetrics.find(m => m.MetricName === METRICS.failOpen)?.Value, 1);
            assert.equal(lastMetrics.find(m => m.MetricName === METRICS.healthyDestinations)?.Value, 0);
            assert.ok(!calls.some(c => c.includes("set-instance-health")), "a dead NLB-1 is not the proxy's fault");
            report(`fail open: probes dropped -> "${/no destination answers[^\n]*/.exec(said)?.[0]}"; all 3 kept; FailOpen=1, HealthyDestinations=0 sent; no set-instance-health`);
        } finally {
            inNs(ns, "iptables", ["-w", "-t", "raw", "-D", "OUTPUT", "-p", "tcp", "-j", "DROP"]);
        }
        until("back to normal", () => /fail open ends/.test(agentLog().slice(logBefore)));
    });

    it("reports the instance unhealthy to its Auto Scaling group when it cannot install its rules", async function () {
        const ns = L().addNamespace("broken");
        // A proxy whose iptables-restore is missing (a failed package install): a stand-in that fails.
        const broken = path.join(L().state.dir, "broken-bin");
        fs.mkdirSync(broken);
        fs.writeFileSync(path.join(broken, "iptables-restore"), "#!/bin/bash\necho 'iptables-restore: not installed' >&2\nexit 127\n", { mode: 0o755 });
        const a = startAgent(ns, "agent-broken", { PATH: `${broken}:${awsBin}:${process.env.PATH}`, CROSS_REGION_PROXY_UNHEALTHY_AFTER: "3" });
        try {
            const ms = until("set-instance-health", () => recorded(a.record).some(c => c.includes("set-instance-health")), 10_000);
            await pause(2000);
            const calls = recorded(a.record).filter(c => c.includes("set-instance-health"));
            assert.deepEqual(calls, [["--region", REGION, "autoscaling", "set-instance-health", "--instance-id", INSTANCE,
                "--health-status", "Unhealthy", "--no-should-respect-grace-period"]], "once");
            assert.match(fs.readFileSync(a.log, "utf8"), /could not be installed in 3 passes: reporting i-0123456789abcdef0 unhealthy/);
            report(`cannot install (iptables-restore fails): set-instance-health Unhealthy sent once, ${seconds(ms)} s after start with CROSS_REGION_PROXY_UNHEALTHY_AFTER=3 (default 30 passes)`);
        } finally {
            process.kill(a.pid, "SIGTERM");
        }
    });

    it("20 concurrent runs (10 scripts, 10 agent passes) converge to exactly one clean run; a clean run removes duplicate jumps", async function () {
        const ns = L().addNamespace("race");
        const reference = L().addNamespace("race-ref");
        const state = path.join(L().state.dir, "race-state");
        const dir = L().state.dir;
        fs.writeFileSync(path.join(dir, "race-script.sh"), script, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "race-agent.sh"), agentText, { mode: 0o600 });
        const runs = Array.from({ length: 20 }, (_, i) => new Promise<number>(resolve => {
            const args = i % 2 ? [path.join(dir, "race-agent.sh"), "--once"] : [path.join(dir, "race-script.sh")];
            const child = spawn("ip", ["netns", "exec", ns, "bash", ...args], { env: { ...process.env, CROSS_REGION_PROXY_STATE: state }, stdio: "ignore" });
            child.on("exit", code => resolve(code ?? 1));
        }));
        const codes = await Promise.all(runs);
        assert.deepEqual(codes, codes.map(() => 0));
        assert.equal(runProgram(reference, script, "race-ref", path.join(dir, "race-ref-state")).status, 0);
        assert.deepEqual(dump(ns), dump(reference), "exactly the state of one clean run");
        // Duplicates left by an older version (or by hand) go at the next run.
        inNs(ns, "bash", ["-c", "for i in 1 2 3; do iptables -w -t nat -A PREROUTING -m comment --comment cross-region-proxy -j CRPROXY-LISTENERS; iptables -w -A FORWARD -j CRPROXY-FORWARD; done"]);
        assert.equal(runProgram(ns, script, "race-script-again", state).status, 0);
        assert.deepEqual(dump(ns), dump(reference));
        report("concurrency: 20 simultaneous runs (10 script, 10 agent --once) -> exit 0 each, iptables-save identical to one clean run; 6 planted duplicate jumps removed by the next run");
    });

    it("a file cut at any line boundary (script and agent) changes nothing and exits non-zero", function () {
        const ns = L().addNamespace("truncated");
        inNs(ns, "iptables", ["-w", "-A", "FORWARD", "-m", "comment", "--comment", "foreign", "-j", "ACCEPT"]);
        const before = dump(ns);
        const sysctls = () => ["net.ipv4.ip_forward", "net.netfilter.nf_conntrack_tcp_timeout_established",
            "net.netfilter.nf_conntrack_tcp_timeout_time_wait"].map(k => sysctl(ns, k));
        const settingsBefore = sysctls();
        const summary: string[] = [];
        for (const [name, text] of [["script", script], ["agent", agentText]] as const) {
            const lines = text.split("\n").slice(0, -1).map(l => `${l}\n`);
            const file = path.join(L().state.dir, `truncated-${name}.sh`);
            const state = path.join(L().state.dir, `truncated-${name}-state`);
            const codes = new Map<number, number>();
            for (let k = 0; k < lines.length; k++) {
                fs.writeFileSync(file, lines.slice(0, k).join(""), { mode: 0o600 });
                const r = inNs(ns, "bash", [file, ...(name === "agent" ? ["--once"] : [])], { allowFailure: true, env: { ...process.env, CROSS_REGION_PROXY_STATE: state } });
                codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
                // Only the empty file and the shebang alone can exit 0: bash runs nothing in them.
                if (k >= 2) assert.notEqual(r.status, 0, `${name} cut after line ${k} exited 0`);
                assert.ok(!fs.existsSync(state), `${name} cut after line ${k} created its state directory`);
            }
            assert.deepEqual(dump(ns), before, `${name}: iptables-save changed`);
            assert.deepEqual(sysctls(), settingsBefore);
            summary.push(`${name}: ${lines.length} prefixes, exit codes ${[...codes].map(([c, n]) => `${c} x${n}`).join(", ")}`);
        }
        report(`truncation at every line boundary: ${summary.join("; ")}; iptables-save and sysctls unchanged (prefixes of 0 and 1 line are empty or the shebang: bash exits 0 having run nothing)`);
    });
});
