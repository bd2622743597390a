// The regions lab (npm run test:lab): two NLB-1 stand-ins, two "global regions" in namespaces of their own, behind
// the same proxies. The rendered script splits new connections by region weight x dial (chi-square against the
// weights, per region and per destination); the rendered agent moves a dark region's share to the other within
// 3 s with no failed new connection after the move, readmits it, follows priorities, and fails open when every
// region is dark. Root only; with CI=true a missing root or tool fails instead of skipping.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { median } from "../bench/stats";
import { REGION_METRICS } from "../proxy/agent";
import { weightedCascade } from "../proxy/cascade";
import { CHAINS } from "../proxy/rules";
import { regionPercents, rotation } from "../proxy/regions";
import { forwardingSpec } from "../proxy/spec";
import { Agent, Outage, outage, outageFigures, startAgent, StreamClient } from "./agentRun";
import { awsStandIn, recorded } from "./awsStandIn";
import { labFigures, seconds } from "./figures";
import { pause, until } from "./poll";
import { HOLD_PORT, LISTENER_PORTS, VIP } from "./constants";
import { burst } from "./drivers";
import { inNs } from "./exec";
import { createLab, Lab, RegionStandIn } from "./lab";
import { dnatCounters, installedDestinations, saveRules } from "./netfilter";
import { requireLabHost } from "./prerequisites";
import { chiSquareTest } from "./stats";

const HOW_TO_RUN = "the regions lab needs root (network namespaces, netfilter): sudo env PATH=\"$PATH\" npm run test:lab";
const PORTS = [...LISTENER_PORTS, HOLD_PORT];
/** The regions' names as the china stack gives them: the global stacks' qualified names. */
const NAMES = ["organization/cross-region-proxy/global-use2", "organization/cross-region-proxy/global-euc1"];

const { report, print: printFigures } = labFigures("Regions lab figures");

/** What a timing test asserts: the 3-s contract with room for a busy machine (the figures are reported, not asserted). */
const TIMING_BOUND_MS = 8000;

interface Controls { readonly weight?: number; readonly dial?: number; readonly priority?: number }

describe("regions lab: two global regions behind the proxies (network namespaces, root)", function () {
    let lab: Lab | undefined;
    let awsBin = "";
    const agents: Agent[] = [];
    const L = () => {
        if (!lab) throw new Error("lab not up");
        return lab;
    };
    /** Three NLB-1 addresses of each region: nlb1's first three, and nlb1b's. */
    const regionAddresses = () => L().state.regions.map(r => r.publicAddresses.slice(0, 3));
    /** `--region` flags for both regions with these controls, as a user writes them. */
    const regionFlags = (controls: readonly [Controls, Controls]) => regionAddresses().flatMap((addresses, i) =>
        ["--region", [`${NAMES[i]}=${addresses.join(",")}`, ...Object.entries(controls[i]).map(([k, v]) => `${k}=${v}`)].join(" ")]);
    const render = (controls: readonly [Controls, Controls], format: "script" | "agent", ports = LISTENER_PORTS) => {
        const result = L().render([...regionFlags(controls), "--ports", ports.join(","), "--format", format]);
        if (result.status !== 0) throw new Error(`proxy:render failed (exit ${result.status}): ${result.stderr}`);
        return result.stdout;
    };
    /** The same spec as the rendered programs, for the expected shares. */
    const specOf = (controls: readonly [Controls, Controls]) =>
        forwardingSpec({ regions: regionAddresses().map((destinations, i) => ({ name: NAMES[i], destinations, ...controls[i] })), ports: LISTENER_PORTS });
    /** A region's NLB-1 drops every TCP packet (new or not): the whole region is dark. */
    const dark = (region: RegionStandIn, on: boolean) =>
        inNs(region.ns, "iptables", ["-w", "-t", "raw", on ? "-I" : "-D", "PREROUTING", "-p", "tcp", "-j", "DROP"]);

    before(function () {
        requireLabHost(this, "regions lab", HOW_TO_RUN);
        lab = createLab({ proxies: 2, regions: 2 });
        awsBin = awsStandIn(lab.state.dir);
    });

    after(function () {
        for (const a of agents) try { process.kill(a.pid, "SIGTERM"); } catch { /* gone */ }
        lab?.destroy();
        printFigures();
    });

    const splits: Array<{ title: string; controls: [Controls, Controls] }> = [
        { title: "weights 200 and 55", controls: [{ weight: 200 }, { weight: 55 }] },
        { title: "equal weights, the first dialed to 50 %", controls: [{ dial: 50 }, {}] },
        { title: "priorities 1 and 2 (pure failover: the second takes nothing while the first answers)", controls: [{ priority: 1 }, { priority: 2, weight: 255 }] },
    ];
    for (const { title, controls } of splits) {
        it(`splits 4,000 new connections by weight x dial: ${title} (chi-square per region and per destination, p > 0.001)`, function () {
            const lab = L();
            const script = render(controls, "script");
            for (const p of lab.state.proxies) {
                const r = lab.applyScript(p.ns, script);
                assert.equal(r.status, 0, r.stderr);
            }
            const spec = specOf(controls);
            const expected = rotation(spec.regions, spec.destinations).destinations;
            const total = expected.reduce((s, d) => s + d.weight, 0);
            const before = lab.publicCounters();
            const connections = 4000;
            const tally = burst(lab.state.ns.client, VIP, 80, connections, 48);
            assert.equal(tally.ok, connections, `every connection must be established (failed: ${tally.failed})`);
            const after = lab.publicCounters();
            const counts = spec.destinations.map(d => (after.get(d) ?? 0) - (before.get(d) ?? 0));
            // The proxies' own counters say the same: each connection DNATed once, by the rule of that destination.
            const proxied = spec.destinations.map(d => lab.state.proxies.reduce((s, p) => s + (dnatCounters(p.ns, CHAINS.destinations).get(d) ?? 0), 0));
            assert.deepEqual(proxied, counts, "NLB-1s and proxies agree");
            const weightOf = (d: string) => expected.find(x => x.destination === d)?.weight ?? 0;
            const byRegion = spec.regions.map(r => r.destinations.reduce((s, d) => s + counts[spec.destinations.indexOf(d)], 0));
            const regionWeights = spec.regions.map(r => r.destinations.reduce((s, d) => s + weightOf(d), 0));
            const taking = regionWeights.map((w, i) => [w, i] as const).filter(([w]) => w > 0).map(([, i]) => i);
            for (const [i, w] of regionWeights.entries()) if (w === 0) assert.equal(byRegion[i], 0, `${spec.regions[i].name} takes nothing`);
            const live = spec.destinations.filter(d => weightOf(d) > 0);
            const perDestination = live.length > 1 ? chiSquareTest(live.map(d => counts[spec.destinations.indexOf(d)]), live.map(weightOf)) : undefined;
            const perRegion = taking.length > 1 ? chiSquareTest(taking.map(i => byRegion[i]), taking.map(i => regionWeights[i])) : undefined;
            const percent = (n: number) => `${(100 * n / connections).toFixed(1)} %`;
            report(`split ${title}: ${connections} connections in ${(tally.elapsedMs / 1000).toFixed(1)} s -> regions [${byRegion.map(percent).join(", ")}] ` +
                `(expected [${regionWeights.map(w => `${(100 * w / total).toFixed(1)} %`).join(", ")}]), destinations [${counts.join(", ")}]` +
                `${perRegion ? `; chi-square per region ${perRegion.statistic.toFixed(2)} (df ${perRegion.df}), p = ${perRegion.p.toPrecision(3)}` : ""}` +
                `${perDestination ? `; per destination ${perDestination.statistic.toFixed(2)} (df ${perDestination.df}), p = ${perDestination.p.toPrecision(3)}` : ""}`);
            if (perRegion) assert.ok(perRegion.p > 0.001, `per region p = ${perRegion.p}`);
            if (perDestination) assert.ok(perDestination.p > 0.001, `per destination p = ${perDestination.p}`);
            // The installed probabilities are the weighted cascade, as iptables stores them (2^-31 steps).
            const cascade = weightedCascade(expected.map(d => d.weight));
            installedDestinations(saveRules(lab.state.proxies[0].ns)).forEach((rule, i) => {
                assert.equal(rule.destination, expected[i].destination);
                if (i === expected.length - 1) assert.equal(rule.probability, undefined);
                else assert.ok(Math.abs((rule.probability ?? 0) - cascade[i].numerator / cascade[i].denominator) < 1e-9, `rule ${i}: ${rule.probability}`);
            });
        });
    }

    it("moves a dark region's share to the other (contract: 3 s) and back on recovery, under 60 new connections/s with 220 held: 0 failures after the move", async function () {
        const lab = L();
        const controls: [Controls, Controls] = [{ weight: 200 }, { weight: 55 }];
        const p0 = lab.state.proxies[0];
        const agent = startAgent(p0.ns, render(controls, "agent", PORTS), lab.state.dir, "agent-regions", awsBin);
        agents.push(agent);
        const installed = () => installedDestinations(saveRules(p0.ns)).map(d => d.destination);
        const [a, b] = regionAddresses();
        until("the agent installs both regions", () => installed().length === 6 && installed().every((d, i) => d === [...a, ...b][i]), 10_000);
        lab.startHoldServer();
        const stream = new StreamClient(lab.state.ns.client, p0.inAddress, 80, 60, HOLD_PORT, 220);
        const held = await stream.ready();
        assert.ok(held.held >= 200, `held ${held.held}`);
        const events: Array<Outage & { region: number }> = [];
        let result: { attempts: number; failures: number[]; closed: number[] };
        try {
            await pause(3000);
            for (let trial = 0; trial < 6; trial++) {
                const region = trial % 2 === 0 ? 1 : 0;
                const out = region === 1 ? b : a;
                events.push({ region, ...await outage(NAMES[region], on => dark(lab.state.regions[region], on),
                    () => !installed().some(d => out.includes(d)), () => out.every(d => installed().includes(d)), 2500) });
                await pause(2500);
            }
        } finally {
            result = await stream.finish();
        }
        const { gone: moves, back: readmits, failedBefore: beforeMove, failedAfter: afterMove, failedReadmitting: readmitting } =
            outageFigures(events, result.failures);
        const byRegion = (values: number[], region: number) => values.filter((_, i) => events[i].region === region);
        report(`failover (${events.length} trials, ${result.attempts} new connections at 60/s, ${held.held} held): dark -> share moved: ` +
            `median ${seconds(median(moves))} s, max ${seconds(Math.max(...moves))} s (euc1 dark: [${byRegion(moves, 1).map(seconds).join(", ")}], ` +
            `use2 dark: [${byRegion(moves, 0).map(seconds).join(", ")}]); readmit: median ${seconds(median(readmits))} s, max ${seconds(Math.max(...readmits))} s`);
        report(`failed new connections while a region went dark (before the move): [${beforeMove.join(", ")}] (euc1 takes 21 %, use2 78 %); ` +
            `after the move: [${afterMove.join(", ")}]; while readmitting: [${readmitting.join(", ")}]; held connections closed or reset: ${result.closed.length} of ${held.held}`);
        // The contract is 3 s (docs/multi-region.md has the figures of a quiet machine); this 2-CPU machine may be
        // running other labs meanwhile, so the bound that fails a broken mechanism (no move, a move a pass late) is wider.
        for (const ms of [...moves, ...readmits]) assert.ok(ms <= TIMING_BOUND_MS, `${ms} ms > ${TIMING_BOUND_MS / 1000} s`);
        assert.deepEqual(afterMove, events.map(() => 0), "no new connection fails once the share has moved");
        assert.deepEqual(readmitting, events.map(() => 0), "readmitting loses nothing");
        assert.deepEqual(result.closed, [], "no held connection was reset");
        const log = fs.readFileSync(agent.log, "utf8");
        assert.match(log, new RegExp(`shares now: ${NAMES[0]} 100 %, ${NAMES[1]} 0 %`));
        assert.match(log, new RegExp(`shares now: ${NAMES[0]} 0 %, ${NAMES[1]} 100 %`));
        assert.match(log, new RegExp(`shares now: ${NAMES[0]} 78 %, ${NAMES[1]} 21 %`));

        // The per-region metrics saw it: the dark region with no healthy destination, the other with all of it.
        const perRegion = recorded(agent.record).filter(c => c[2] === "cloudwatch").flatMap(c => JSON.parse(c[7]) as Array<{ MetricName: string; Value: number; Dimensions: Array<{ Name: string; Value: string }> }>)
            .filter(m => m.MetricName.startsWith("Region"));
        const seen = (metric: string, region: number) => new Set(perRegion.filter(m => m.MetricName === metric && m.Dimensions[1].Value === NAMES[region]).map(m => m.Value));
        for (const region of [0, 1]) {
            assert.ok(seen(REGION_METRICS.healthyDestinations, region).has(0) && seen(REGION_METRICS.healthyDestinations, region).has(3), `healthy ${region}`);
            assert.ok(seen(REGION_METRICS.sharePercent, region).has(100) && seen(REGION_METRICS.sharePercent, region).has(0), `share ${region}`);
        }
        assert.deepEqual(regionPercents(specOf(controls).regions, rotation(specOf(controls).regions, specOf(controls).destinations)), [78, 21]);
        report(`region metrics: RegionHealthyDestinations seen ${[0, 1].map(r => `${NAMES[r].split("/").pop()} {${[...seen(REGION_METRICS.healthyDestinations, r)].join(",")}}`).join(", ")}; ` +
            `RegionSharePercent ${[0, 1].map(r => `${NAMES[r].split("/").pop()} {${[...seen(REGION_METRICS.sharePercent, r)].join(",")}}`).join(", ")}`);
    });

    it("fails open to the configured split when every region is dark, and ends it when one answers", async function () {
        const lab = L();
        const p0 = lab.state.proxies[0];
        const agent = agents[agents.length - 1];
        const logBefore = fs.readFileSync(agent.log, "utf8").length;
        const configured = installedDestinations(saveRules(p0.ns));
        for (const region of lab.state.regions) dark(region, true);
        try {
            const t0 = Date.now();
            until("fail open", () => /no destination answers: keeping all 6 in rotation \(fail open\)/.test(fs.readFileSync(agent.log, "utf8").slice(logBefore)));
            const ms = Date.now() - t0;
            await pause(1500);
            assert.deepEqual(installedDestinations(saveRules(p0.ns)), configured, "the configured 200:55 split over all six");
            report(`fail open: every region dark -> logged after ${seconds(ms)} s, the configured split over all 6 destinations kept`);
        } finally {
            for (const region of lab.state.regions) dark(region, false);
        }
        until("fail open ends", () => /fail open ends/.test(fs.readFileSync(agent.log, "utf8").slice(logBefore)));
        until("both regions back", () => installedDestinations(saveRules(p0.ns)).length === 6);
        process.kill(agent.pid, "SIGTERM");
    });

    it("with priorities, sends everything to the second region only while the first is dark (contract: 3 s)", async function () {
        const lab = L();
        const p1 = lab.state.proxies[1];
        const agent = startAgent(p1.ns, render([{ priority: 1 }, { priority: 2 }], "agent", PORTS), lab.state.dir, "agent-priorities", awsBin);
        agents.push(agent);
        const [a, b] = regionAddresses();
        const installed = () => installedDestinations(saveRules(p1.ns)).map(d => d.destination);
        until("the first priority alone", () => installed().join() === a.join(), 10_000);
        const times: number[] = [];
        for (let trial = 0; trial < 3; trial++) {
            const o = await outage("the first priority", on => dark(lab.state.regions[0], on), () => installed().join() === b.join(), () => installed().join() === a.join(), 0);
            times.push(o.gone - o.dark);
            await pause(1000);
        }
        report(`priorities 1 and 2: the first region dark -> everything to the second after [${times.map(seconds).join(", ")}] s; back to the first on recovery`);
        for (const ms of times) assert.ok(ms <= TIMING_BOUND_MS, `${ms} ms > ${TIMING_BOUND_MS / 1000} s`);
    });
});
