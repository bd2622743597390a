// The drain lab (npm run test:lab): three proxies behind the NLB-2 stand-in, each running the rendered agent
// with an IMDS of its own and the stand-in `aws`. Auto Scaling's scale-in is played step by step: NLB-2
// deregisters a proxy (its rules stop sending it new connections; the conntrack entries of held ones stay,
// as an NLB without connection termination keeps forwarding them), IMDS says the instance is heading for
// Terminated, and after a stand-in for NLB-2's deregistration delay the instance waits on the hook (the
// stand-in `aws` accepts complete-lifecycle-action from then on). Root only; with CI=true a missing root or
// tool fails instead of skipping.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { AGENT_IDENTITY } from "./agentRun";
import { AwsCall, awsStandIn, recordedCalls } from "./awsStandIn";
import { ECHO_PORT, LISTENER_PORTS, VIP } from "./constants";
import { LineTool, streamToolArgv, tcpToolArgv } from "./drivers";
import { inNs, startInNs, which } from "./exec";
import { labFigures, seconds } from "./figures";
import { createLab, Lab, ProxyInfo } from "./lab";
import { proxiedConnections, replySourceByClientPort } from "./netfilter";
import { requireLabHost } from "./prerequisites";
import { pause, until } from "./poll";
import { renderNlb2Rules } from "./standins";
import { METRICS } from "../proxy/agent";
import { DRAIN_HOOK_NAME, LIFECYCLE_INTERVAL_SECONDS } from "../proxy/drain";

const PORTS = [...LISTENER_PORTS, ECHO_PORT];
const { group: GROUP, region: REGION } = AGENT_IDENTITY;
/** The lab's drain limit: a lifecycle hook's shortest heartbeat. */
const DRAIN_SECONDS = 30;
/** The stand-in for NLB-2's deregistration delay (60 s in the stack): until then, completing the action fails. */
const DEREGISTRATION_DELAY_MS = 6000;
/** Held connections through NLB-2's three targets: about 15 each (fewer than 3 on one: p < 1e-5). */
const HELD = 45;
const instanceId = (p: ProxyInfo) => `i-0000000000000000${p.index}`;

const { report, print: printFigures } = labFigures("Drain lab figures");

interface Connection { port: number; sent: number; echoed: number; ended: string | null }
interface Agent { log: string; record: string; hookActive: string; imds: string }

describe("drain on scale-in lab (network namespaces, root)", function () {
    let lab: Lab | undefined;
    let chat: LineTool | undefined;
    let stream: LineTool | undefined;
    const agents = new Map<number, Agent>();
    const L = () => {
        if (!lab) throw new Error("lab not up");
        return lab;
    };
    const proxies = () => L().state.proxies;
    const log = (p: ProxyInfo) => fs.readFileSync(agents.get(p.index)!.log, "utf8");
    const calls = (p: ProxyInfo, action: string): AwsCall[] => recordedCalls(agents.get(p.index)!.record).filter(c => c.args.includes(action));
    const status = async () => (await chat!.send<{ connections: Connection[] }>("status")).connections;
    /** NLB-2's targets: a deregistered proxy gets no new connection; established ones keep their conntrack entry there. */
    const register = (targets: readonly ProxyInfo[]) => inNs(L().state.ns.nlb2, "iptables-restore", ["-w"],
        { input: renderNlb2Rules(VIP, PORTS, targets.map(p => ({ name: p.ns, address: p.inAddress }))) });
    const terminate = (p: ProxyInfo) => {
        const file = agents.get(p.index)!.imds;
        fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), "autoscaling/target-lifecycle-state": "Terminated" }));
    };
    const hookActive = (p: ProxyInfo) => fs.writeFileSync(agents.get(p.index)!.hookActive, "");
    /** The chat connections NLB-2 sent to each proxy. */
    const through = async (p: ProxyInfo) => {
        const byPort = replySourceByClientPort(L().state.ns.nlb2, ECHO_PORT);
        return (await status()).filter(c => byPort.get(c.port) === p.inAddress);
    };
    const echoed = (list: readonly Connection[]) => list.reduce((sum, c) => sum + c.echoed, 0);
    const lastMetrics = (p: ProxyInfo) => JSON.parse(calls(p, "put-metric-data").pop()?.args[7] ?? "[]") as Array<{ MetricName: string; Value: number }>;

    before(async function () {
        requireLabHost(this, "drain lab", "the drain lab needs root (network namespaces, netfilter): sudo env PATH=\"$PATH\" npm run test:lab");
        lab = createLab({ proxies: 3 });
        const dir = lab.state.dir;
        const awsBin = awsStandIn(dir);
        register(proxies());
        lab.startAlbSideServer("serve-echo", ECHO_PORT);
        const script = lab.renderScript(lab.state.publicAddresses.slice(0, 3), ["--drain-seconds", String(DRAIN_SECONDS)], PORTS);
        const agentText = lab.renderScript(lab.state.publicAddresses.slice(0, 3), ["--drain-seconds", String(DRAIN_SECONDS)], PORTS, "agent");
        const agentFile = path.join(dir, "agent.sh");
        fs.writeFileSync(agentFile, agentText, { mode: 0o600 });
        for (const p of proxies()) {
            const applied = lab.applyScript(p.ns, script);
            assert.equal(applied.status, 0, applied.stderr);
            const imds = lab.startImds(p.ns, { "instance-id": instanceId(p), "placement/region": REGION,
                "tags/instance/aws:autoscaling:groupName": GROUP, "autoscaling/target-lifecycle-state": "InService" });
            const a = { log: path.join(dir, `agent-${p.index}.log`), record: path.join(dir, `aws-${p.index}.log`), hookActive: path.join(dir, `hook-active-${p.index}`), imds };
            // Everything from IMDS (group, instance, region), as on an instance: no overrides but the metrics interval.
            const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${awsBin}:${process.env.PATH}`, CROSS_REGION_PROXY_STATE: path.join(dir, `state-${p.ns}`),
                CRP_AWS_RECORD: a.record, CRP_AWS_HOOK_ACTIVE: a.hookActive, CROSS_REGION_PROXY_METRICS_INTERVAL: "2" };
            delete env.AWS_REGION;
            delete env.AWS_DEFAULT_REGION;
            startInNs(p.ns, "bash", [agentFile], a.log, env);
            agents.set(p.index, a);
        }
        chat = new LineTool(lab.state.ns.client, tcpToolArgv("chat", ["--host", VIP, "--port", String(ECHO_PORT), "--count", String(HELD), "--interval-ms", "200"]));
        const opened = await chat.next<{ opened: number }>();
        assert.equal(opened.opened, HELD);
        stream = new LineTool(lab.state.ns.client, streamToolArgv(VIP, 80, 20, ECHO_PORT, 0));
        await stream.next();
        await pause(2000);
    });

    after(function () {
        chat?.stop();
        stream?.stop();
        lab?.destroy();
        printFigures();
    });

    it("a deregistered proxy keeps carrying its held connections, takes no new ones, and completes the lifecycle action when the last one closes", async function () {
        const [p0, p1, p2] = proxies();
        const held = await through(p0);
        assert.ok(held.length >= 3, `NLB-2 sent ${held.length} of ${HELD} held connections to ${p0.ns}`);
        const before = echoed(held);
        register([p1, p2]);
        const t1 = Date.now();
        terminate(p0);
        await pause(300); // a SYN already sent to it arrives
        const proxiedAtDeregistration = proxiedConnections(p0.ns);
        setTimeout(() => hookActive(p0), DEREGISTRATION_DELAY_MS);
        const noticed = until("the agent notices the termination", () => /Auto Scaling is terminating this instance/.test(log(p0)), 15_000);
        assert.match(log(p0), new RegExp(`draining ${held.length} proxied connection\\(s\\) for at most ${DRAIN_SECONDS} s`));
        await pause(Math.max(0, t1 + DEREGISTRATION_DELAY_MS + 2000 - Date.now()));

        // Draining: the held connections still carry data both ways, nothing new reaches the proxy.
        const during = await through(p0);
        assert.deepEqual(during.map(c => c.ended), held.map(() => null), "no held connection closed or reset");
        const flowing = echoed(during) - before;
        assert.ok(flowing > held.length * 20 * 5, `${flowing} bytes echoed through the deregistered proxy`);
        assert.equal(proxiedConnections(p0.ns), proxiedAtDeregistration, "no new connection through the deregistered proxy");
        assert.deepEqual(calls(p0, "complete-lifecycle-action"), [], "not while connections are held");
        until("metrics sent while draining", () => lastMetrics(p0).find(m => m.MetricName === METRICS.draining)?.Value === 1, 6000);
        assert.equal(lastMetrics(p0).find(m => m.MetricName === METRICS.newConnectionsPerSecond), undefined, "no scaling signal while draining");

        // The clients close their connections, one every half second.
        let lastClosed = 0;
        for (const [i, c] of held.entries()) {
            if (i > 0) await pause(500);
            await chat!.send(`close ${c.port}`);
            lastClosed = Date.now();
        }
        until("drained", () => /drained: the last proxied connection closed/.test(log(p0)), 10_000);
        const drained = Date.now();
        until("complete-lifecycle-action", () => calls(p0, "complete-lifecycle-action").some(c => c.status === 0), 15_000);
        const [call] = calls(p0, "complete-lifecycle-action");
        const completed = call.at;
        assert.deepEqual(call.args, ["--region", REGION, "autoscaling", "complete-lifecycle-action", "--lifecycle-hook-name", DRAIN_HOOK_NAME,
            "--auto-scaling-group-name", GROUP, "--lifecycle-action-result", "CONTINUE", "--instance-id", instanceId(p0)]);
        assert.equal(call.status, 0, "once, after the hook started");
        assert.match(log(p0), /lifecycle action completed: Auto Scaling terminates the instance/);
        assert.deepEqual((await status()).filter(c => held.some(h => h.port === c.port)).map(c => c.ended), held.map(() => "closed"));
        assert.ok(completed - lastClosed <= 8000, `completed ${completed - lastClosed} ms after the last close`);
        report(`drained proxy: ${held.length} held connections through it; noticed the termination ${seconds(noticed)} s after IMDS said so ` +
            `(polled every ${LIFECYCLE_INTERVAL_SECONDS} s); ${flowing} bytes echoed through it in the ${seconds(t1 + DEREGISTRATION_DELAY_MS + 2000 - t1)} s after deregistration, ` +
            `0 held connections reset, 0 new connections to it; "drained" logged within ${seconds(drained - lastClosed)} s (polled) and ` +
            `complete-lifecycle-action called ${seconds(completed - lastClosed)} s after the last held connection closed`);
    });

    it("at the drain limit, a proxy still holding connections lets the instance go; completing fails until the hook starts, then succeeds", async function () {
        const [, p1, p2] = proxies();
        const held = await through(p1);
        assert.ok(held.length >= 3, `NLB-2 sent ${held.length} of ${HELD} held connections to ${p1.ns}`);
        register([p2]);
        terminate(p1);
        await pause(300);
        const proxiedAtDeregistration = proxiedConnections(p1.ns);
        const noticedAt = Date.now() + until("the agent notices the termination", () => /Auto Scaling is terminating this instance/.test(log(p1)), 15_000);
        // The hook starts only after the drain limit here (a deregistration delay longer than the limit).
        const limitAt = noticedAt + DRAIN_SECONDS * 1000;
        await pause(Math.max(0, limitAt - 3000 - Date.now()));
        const before = echoed(await through(p1));
        until("the first complete-lifecycle-action", () => calls(p1, "complete-lifecycle-action").length > 0, 15_000);
        const tries = calls(p1, "complete-lifecycle-action");
        assert.equal(tries[0].status, 254, "refused: the instance is not waiting on the hook yet");
        // Right up to the limit the held connections carried data, and none was reset.
        const atLimit = await through(p1);
        assert.deepEqual(atLimit.map(c => c.ended), held.map(() => null));
        assert.ok(echoed(atLimit) > before, "data through the proxy in the last seconds before the limit");
        assert.match(log(p1), new RegExp(`drain limit of ${DRAIN_SECONDS} s reached with ${held.length} proxied connection\\(s\\) open`));
        hookActive(p1);
        const hookAt = Date.now();
        until("complete-lifecycle-action succeeds", () => calls(p1, "complete-lifecycle-action").some(c => c.status === 0), 15_000);
        const all = calls(p1, "complete-lifecycle-action");
        const completed = all[all.length - 1].at;
        assert.ok(all.length >= 2 && all.slice(0, -1).every(c => c.status === 254) && all[all.length - 1].status === 0, JSON.stringify(all.map(c => c.status)));
        assert.match(log(p1), /complete-lifecycle-action failed .*retrying in 5 s/);
        assert.equal(proxiedConnections(p1.ns), proxiedAtDeregistration, "no new connection through the deregistered proxy");
        const firstAfterLimit = (tries[0].at - noticedAt) / 1000;
        // The agent counts in whole seconds from the pass that noticed (up to 1 s before this test saw its log line).
        assert.ok(firstAfterLimit >= DRAIN_SECONDS - 1.5 && firstAfterLimit <= DRAIN_SECONDS + 5, `first try ${firstAfterLimit} s after the drain started`);
        report(`drain limit (${DRAIN_SECONDS} s) with ${held.length} connections still held: first complete-lifecycle-action ${firstAfterLimit.toFixed(2)} s ` +
            `after the drain started (refused: hook not started), ${all.length - 1} refused in all, accepted ${seconds(completed - hookAt)} s after the hook started ` +
            `(retried every ${LIFECYCLE_INTERVAL_SECONDS} s); 0 of ${held.length} held connections reset before the limit`);
    });

    it("sends every new connection to the proxies still registered, none lost, and says that veth interfaces have no ENA counters", async function () {
        const result = await stream!.send<{ attempts: number; failures: number[]; closed: number[] }>("stop");
        stream = undefined;
        assert.ok(result.attempts > 500, `${result.attempts} new connections`);
        assert.deepEqual(result.failures, [], "no new connection failed while proxies were deregistered");
        const [, , p2] = proxies();
        const ena = which("ethtool") ? /no ENA allowance counters on .*p2-in.*\(not ENA interfaces\): the ENA allowance metrics are not sent/
            : /ethtool is not installed: the ENA allowance metrics are not sent/;
        assert.match(log(p2), ena);
        assert.equal(log(p2).match(/allowance metrics are not sent/g)?.length, 1, "said once");
        report(`new connections at 20/s during both drains: ${result.attempts} opened, 0 failed; the deregistered proxies got none ` +
            `(their CONNMARK counters did not move); the agent on a veth says once: "${/no ENA allowance counters[^\n]*|ethtool is not installed[^\n]*/.exec(log(p2))?.[0]}"`);
    });
});
