// The forwarding lab suite (npm run test:lab): the rendered proxy script on a real kernel, in network
// namespaces, end to end with TLS and httpbin. Root only. Without root it explains how to run it and
// skips; with CI=true a missing root or tool fails instead (a skipped lab suite is not a pass in CI).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { inNs, sleep } from "./exec";
import {
    conntrackEntries, conntrackStats, dnatCounters, installedDestinations, isOurs, saveRules, sysctl,
} from "./netfilter";
import { chainsOf, Rule, rulesOf, Table } from "../proxy/iptablesSave";
import { CHAINS } from "../proxy/rules";
import { DEFAULT_CONNTRACK_MAX, DEFAULT_ESTABLISHED_TIMEOUT_SECONDS, DEFAULT_TIME_WAIT_TIMEOUT_SECONDS } from "../proxy/spec";
import { labFigures } from "./figures";
import { chiSquareTest } from "./stats";
import { DOMAIN, HOLD_PORT, LISTENER_PORTS, USER_HOST, VIP } from "./constants";
import { burst, HoldClient } from "./drivers";
import { hostDifferences, HostSnapshot, hostSnapshot } from "./host";
import { createLab, Lab } from "./lab";
import { requireLabHost } from "./prerequisites";

/** First port of the narrowed NAT ranges of the "NAT ports" tests. */
const NAT_PORT_FROM = 40000;
const HOW_TO_RUN = "the forwarding lab needs root (network namespaces, netfilter): sudo env PATH=\"$PATH\" npm run test:lab";

const { report, print: printFigures } = labFigures("Lab figures");

interface AlbLogEntry { remote: string; server: string; port: string; sni: string; host: string; uri: string; status: string }

function albLog(lab: Lab): AlbLogEntry[] {
    if (!fs.existsSync(lab.state.albAccessLog)) return [];
    return fs.readFileSync(lab.state.albAccessLog, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l) as AlbLogEntry);
}

/** nginx writes its access log line when it finalizes the request, which may be after the client has its answer. */
function albLogWait(lab: Lab, marker: string, count: number): AlbLogEntry[] {
    const deadline = Date.now() + 5000;
    for (;;) {
        const entries = albLog(lab).filter(e => e.uri.includes(marker));
        if (entries.length >= count || Date.now() > deadline) return entries;
        sleep(50);
    }
}

function sumMaps(maps: ReadonlyArray<Map<string, number>>, keys: readonly string[]): number[] {
    return keys.map(k => maps.reduce((s, m) => s + (m.get(k) ?? 0), 0));
}

describe("forwarding lab (network namespaces, root)", function () {
    let lab: Lab | undefined;
    let hostBefore: HostSnapshot;
    const started = Date.now();

    const L = () => {
        if (!lab) throw new Error("lab not up");
        return lab;
    };
    const dests = (n: number) => L().state.publicAddresses.slice(0, n);
    const standard = () => L().applyToAllProxies(dests(3));

    /** Proxy 0 with the script for `destinations` and a NAT range of k ports (listeners plus the holder's
     *  port), the holder started, old holder entries gone; and a client that holds connections through it. */
    const natPortRun = (destinations: string[], k: number) => {
        const lab = L();
        const p0 = lab.state.proxies[0];
        const natPorts = `${NAT_PORT_FROM}-${NAT_PORT_FROM + k - 1}`;
        const applied = lab.applyScript(p0.ns, lab.renderScript(destinations, ["--nat-ports", natPorts], [...LISTENER_PORTS, HOLD_PORT]));
        assert.equal(applied.status, 0, `the script with --nat-ports ${natPorts} failed: ${applied.stderr}`);
        lab.startHoldServer();
        inNs(p0.ns, "conntrack", ["-D", "-p", "tcp", "--orig-port-dst", String(HOLD_PORT)], { allowFailure: true });
        const statsBefore = conntrackStats(p0.ns);
        return { p0, natPorts, statsBefore, client: new HoldClient(lab.state.ns.client, p0.inAddress, HOLD_PORT, 250) };
    };

    before(function () {
        requireLabHost(this, "lab suite", HOW_TO_RUN);
        hostBefore = hostSnapshot();
        lab = createLab({ proxies: 2 });
        standard();
        report(`lab ${lab.runId} up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });

    after(function () {
        if (!lab) return;
        lab.destroy();
        const differences = hostDifferences(hostBefore, hostSnapshot(), lab.state.prefix);
        report(`suite run time ${((Date.now() - started) / 1000).toFixed(1)} s; host after teardown: ${differences.length ? differences.join(", ") : "no extra namespace, link or rule"}`);
        printFigures();
        assert.deepEqual(differences, [], "the host must look as before the suite");
    });

    it("TLS end to end: SNI reaches the ALB stand-in, the certificate verifies against the lab CA, httpbin answers", function () {
        const lab = L();
        const proxyOut = lab.state.proxies.map(p => p.outAddress);
        const ip = lab.userCurl(`https://${USER_HOST}/ip`);
        assert.equal(ip.status, 0, ip.stderr);
        const origin = (JSON.parse(ip.stdout) as { origin: string }).origin;
        assert.ok(proxyOut.includes(origin), `httpbin reports ${origin}, expected a proxy address (${proxyOut.join(", ")})`);

        for (const host of [USER_HOST, `test.${DOMAIN}`]) {
            const marker = `t1-${host}-${Date.now()}`;
            const any = lab.userCurl(`https://${host}/anything/${marker}?q=1`, ["-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", "hello"]);
            assert.equal(any.status, 0, any.stderr);
            const body = JSON.parse(any.stdout) as { method: string; data: string; headers: Record<string, string>; origin: string };
            assert.equal(body.method, "POST");
            assert.equal(body.data, "hello");
            assert.equal(body.headers.Host, host);
            assert.ok(proxyOut.includes(body.origin));
            const entry = albLogWait(lab, marker, 1)[0];
            assert.ok(entry, "the ALB stand-in logged the request");
            assert.equal(entry.sni, host, "the SNI the client sent reached the ALB stand-in untouched");
            assert.equal(entry.port, "443");
        }
        // The certificate is the lab CA's: without it the client refuses (60), and a name outside both
        // wildcards gets the listener's default certificate, as from an ALB, which does not verify for it (60).
        const untrusted = inNs(lab.state.ns.client, "curl", ["-sS", "--max-time", "10", "--resolve", `${USER_HOST}:443:${VIP}`,
            `https://${USER_HOST}/ip`], { allowFailure: true });
        assert.equal(untrusted.status, 60, `expected a verification failure, got ${untrusted.status}: ${untrusted.stderr}`);
        const otherName = "test.poc1011.example.com";
        const unknown = lab.userCurl(`https://${otherName}/ip`);
        assert.equal(unknown.status, 60, "a name outside *.<domain> and *.<cnDomain> gets no certificate that verifies");
        const details = inNs(lab.state.ns.client, "curl", ["-sS", "-v", "-o", "/dev/null", "--max-time", "10", "--cacert", lab.state.caCert,
            "--resolve", `${USER_HOST}:443:${VIP}`, `https://${USER_HOST}/status/200`], { allowFailure: true });
        assert.equal(details.status, 0, details.stderr);
        assert.match(details.stderr, /subjectAltName: host "test\.poc1010\.example\.com" matched cert's "\*\.poc1010\.example\.com"/);
        assert.match(details.stderr, /SSL certificate verify ok/);
        report(`TLS: SNI ${USER_HOST} and test.${DOMAIN} verified against the lab CA; origin ${origin}; no CA -> curl exit 60, ${otherName} -> curl exit ${unknown.status}`);
    });

    {
        for (const n of [2, 3, 5]) {
            it(`uniform split: N = ${n} destinations, 3,000 new connections, chi-square p > 0.001`, function () {
                const lab = L();
                const destinations = dests(n);
                lab.applyToAllProxies(destinations); // fresh rules: counters start at 0
                const publicBefore = lab.publicCounters();
                const connections = 3000;
                const t0 = Date.now();
                const tally = burst(lab.state.ns.client, VIP, 80, connections, 48);
                const seconds = (Date.now() - t0) / 1000;
                assert.equal(tally.ok, connections, `every connection must be established (failed: ${tally.failed})`);
                const perProxy = lab.state.proxies.map(p => dnatCounters(p.ns, CHAINS.destinations));
                const counts = sumMaps(perProxy, destinations);
                assert.equal(counts.reduce((s, c) => s + c, 0), connections, "each new connection is counted once, by one DNAT rule");
                // NLB-1 saw the same connections on the same public addresses.
                const publicAfter = lab.publicCounters();
                assert.deepEqual(destinations.map(d => (publicAfter.get(d) ?? 0) - (publicBefore.get(d) ?? 0)), counts);
                const chi = chiSquareTest(counts);
                report(`split N=${n}: ${connections} connections in ${seconds.toFixed(1)} s -> [${counts.join(", ")}], chi-square ${chi.statistic.toFixed(2)} (df ${chi.df}), p = ${chi.p.toPrecision(3)}`);
                assert.ok(chi.p > 0.001, `p = ${chi.p}: the split is not uniform`);
                // The installed probabilities are the cascade 1/(N-i), as iptables stores them (2^-31 steps).
                installedDestinations(saveRules(lab.state.proxies[0].ns)).forEach((rule, i) => {
                    if (i === n - 1) assert.equal(rule.probability, undefined);
                    else assert.ok(Math.abs((rule.probability ?? 0) - 1 / (n - i)) < 1e-9, `rule ${i}: ${rule.probability}`);
                });
            });
        }
    }

    it("every destination's return traffic works: each backend sees the proxy's address (MASQUERADE for all)", function () {
        const lab = L();
        const destinations = dests(3);
        standard();
        for (const p of lab.state.proxies) {
            const marker = `t3-${p.index}-${Date.now()}`;
            const urls = Array.from({ length: 30 }, (_, k) => `https://${USER_HOST}/anything/${marker}/${k}`);
            // Straight at this proxy (as NLB-2 would), a new TLS connection per request.
            const r = inNs(lab.state.ns.client, "curl", ["-sS", "--max-time", "60", "--cacert", lab.state.caCert,
                "--resolve", `${USER_HOST}:443:${p.inAddress}`, "-H", "Connection: close", "-w", "\n", ...urls], { allowFailure: true });
            assert.equal(r.status, 0, r.stderr);
            const origins = r.stdout.match(/"origin":\s*"([^"]+)"/g) ?? [];
            assert.equal(origins.length, urls.length, "every request got httpbin's answer back");
            for (const o of origins) assert.ok(o.includes(`"${p.outAddress}"`), `${o} is not ${p.ns}'s address`);
            const entries = albLogWait(lab, marker, urls.length);
            assert.equal(entries.length, urls.length);
            const nodes = new Set(entries.map(e => e.server));
            const seenDestinations = destinations.filter((_, j) => nodes.has(lab.state.albNodes[j]));
            assert.deepEqual(seenDestinations, destinations, "every destination received some of the connections");
            for (const e of entries) assert.equal(e.remote, p.outAddress, `ALB node ${e.server} saw ${e.remote}`);
            const perNode = destinations.map((_, j) => entries.filter(e => e.server === lab.state.albNodes[j]).length);
            report(`return path via ${p.ns}: ${urls.length} requests over [${destinations.join(", ")}] = [${perNode.join(", ")}], every backend saw ${p.outAddress}`);
        }
        // The replies come back because of MASQUERADE, not by luck: NLB-1 has no route to the client network.
        const routes = inNs(lab.state.ns.nlb1, "ip", ["route", "get", "198.18.1.2"], { allowFailure: true });
        assert.notEqual(routes.status, 0, `NLB-1 must not have a route to the client: ${routes.stdout}`);
    });

    it("idempotence: applying the script twice leaves iptables-save unchanged", function () {
        const lab = L();
        const script = lab.renderScript(dests(3));
        const fresh = lab.addNamespace("idem");
        const first = lab.applyScript(fresh, script);
        assert.equal(first.status, 0, first.stderr);
        const once = saveRules(fresh);
        const second = lab.applyScript(fresh, script);
        assert.equal(second.status, 0, second.stderr);
        assert.deepEqual(saveRules(fresh), once);
        for (const [table, chain] of [["nat", "PREROUTING"], ["nat", "POSTROUTING"], ["filter", "FORWARD"]]) {
            assert.equal(rulesOf(once, table, chain).filter(isOurs).length, 1, `one jump in ${table}/${chain}`);
        }
        assert.equal(sysctl(fresh, "net.ipv4.ip_forward"), "1");
        assert.equal(sysctl(fresh, "net.netfilter.nf_conntrack_max"), String(DEFAULT_CONNTRACK_MAX));
        assert.equal(sysctl(fresh, "net.netfilter.nf_conntrack_tcp_timeout_established"), String(DEFAULT_ESTABLISHED_TIMEOUT_SECONDS));
        assert.equal(sysctl(fresh, "net.netfilter.nf_conntrack_tcp_timeout_time_wait"), String(DEFAULT_TIME_WAIT_TIMEOUT_SECONDS));
        // And on a live proxy that already runs it.
        const live = lab.state.proxies[0].ns;
        const before = saveRules(live);
        assert.equal(lab.applyScript(live, script).status, 0);
        assert.deepEqual(saveRules(live), before);
        report(`idempotence: second run identical (${once.flatMap(t => t.rules).length} rules, fresh namespace and live proxy)`);
    });

    it("foreign rules survive: planted filter and nat rules stay, in the same relative order", function () {
        const lab = L();
        const ns = lab.addNamespace("foreign");
        const planted = [
            "*filter",
            ":INPUT ACCEPT [0:0]",
            ":FORWARD DROP [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            ":FOREIGN-CHAIN - [0:0]",
            "-A INPUT -i lo -m comment --comment \"foreign 1\" -j ACCEPT",
            "-A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"foreign 2\" -j FOREIGN-CHAIN",
            "-A FORWARD -s 192.0.2.99/32 -m comment --comment \"foreign 3\" -j DROP",
            "-A FORWARD -m conntrack --ctstate INVALID -m comment --comment \"foreign 4\" -j DROP",
            "-A OUTPUT -d 192.0.2.97/32 -m comment --comment \"foreign 5\" -j REJECT --reject-with icmp-port-unreachable",
            "-A FOREIGN-CHAIN -s 198.18.0.0/15 -m comment --comment \"foreign 6\" -j ACCEPT",
            "COMMIT",
            "*nat",
            ":PREROUTING ACCEPT [0:0]",
            ":INPUT ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]",
            "-A PREROUTING -d 192.0.2.98/32 -p udp -m comment --comment \"foreign 7\" -j RETURN",
            "-A PREROUTING -p tcp -m tcp --dport 2222 -m comment --comment \"foreign 8\" -j REDIRECT --to-ports 22",
            "-A OUTPUT -d 192.0.2.97/32 -m comment --comment \"foreign 9\" -j RETURN",
            "-A POSTROUTING -o foreign0 -m comment --comment \"foreign 10\" -j MASQUERADE",
            "-A POSTROUTING -s 198.18.99.0/24 -m comment --comment \"foreign 11\" -j SNAT --to-source 198.18.99.1",
            "COMMIT",
            "",
        ].join("\n");
        inNs(ns, "iptables-restore", ["-w"], { input: planted });
        const original = saveRules(ns);
        const ours: readonly string[] = Object.values(CHAINS);
        const foreignOf = (tables: Table[]) => {
            const out: Record<string, Rule[]> = {};
            for (const table of ["filter", "nat"]) {
                for (const chain of chainsOf(tables, table).filter(c => !ours.includes(c))) {
                    out[`${table}/${chain}`] = rulesOf(tables, table, chain).filter(r => !isOurs(r));
                }
            }
            return out;
        };
        const expected = foreignOf(original);
        assert.equal(Object.values(expected).flat().length, 11, "all planted rules are in place before applying");
        for (const set of [dests(3), dests(5).slice(2), dests(1)]) {
            const r = lab.applyScript(ns, lab.renderScript(set));
            assert.equal(r.status, 0, r.stderr);
            const now = saveRules(ns);
            assert.deepEqual(foreignOf(now), expected, "foreign rules unchanged, same order");
            for (const [table, chain] of [["nat", "PREROUTING"], ["nat", "POSTROUTING"], ["filter", "FORWARD"]]) {
                const rules = rulesOf(now, table, chain);
                assert.ok(isOurs(rules[0]), `our jump is first in ${table}/${chain}`);
                assert.equal(rules.filter(isOurs).length, 1);
            }
            const forward = now.find(t => t.name === "filter")?.chains.find(c => c.name === "FORWARD");
            assert.equal(forward?.policy, "DROP", "the FORWARD policy is left as the host set it");
        }
        report("foreign rules: 11 planted rules (filter INPUT/FORWARD/OUTPUT + a user chain, nat PREROUTING/OUTPUT/POSTROUTING) unchanged and in order after 3 applications");
    });

    it("re-applying with a new destination set converges to exactly that set", function () {
        const lab = L();
        const p0 = lab.state.proxies[0];
        lab.applyScript(p0.ns, lab.renderScript(dests(5)));
        const all = lab.state.publicAddresses;
        const next = [all[5], all[1]]; // one new address, one kept, three dropped, order changed
        const r = lab.applyScript(p0.ns, lab.renderScript(next));
        assert.equal(r.status, 0, r.stderr);
        const lines = saveRules(p0.ns);
        const installed = installedDestinations(lines);
        assert.deepEqual(installed.map(d => d.destination), next);
        assert.ok(Math.abs((installed[0].probability ?? 0) - 0.5) < 1e-9);
        assert.equal(installed[1].probability, undefined);
        // Every user-defined chain of nat is one of ours: no chain of an earlier set is left behind.
        assert.deepEqual(lines.find(t => t.name === "nat")?.chains.filter(c => c.policy === "-").map(c => c.name).sort(),
            [CHAINS.connect, CHAINS.destinations, CHAINS.listeners, CHAINS.postrouting].sort());
        assert.equal(rulesOf(lines, "nat", CHAINS.listeners).length, LISTENER_PORTS.length);
        // Traffic follows: only the new set receives connections.
        const before = lab.publicCounters();
        const tally = burst(lab.state.ns.client, p0.inAddress, 80, 600);
        assert.equal(tally.ok, 600);
        const after = lab.publicCounters();
        const got = all.map(a => (after.get(a) ?? 0) - (before.get(a) ?? 0));
        all.forEach((a, j) => {
            if (next.includes(a)) assert.ok(got[j] > 200, `${a} got ${got[j]}`);
            else assert.equal(got[j], 0, `${a} is no longer a destination but got ${got[j]}`);
        });
        // Shrinking to one destination leaves a single unconditional rule.
        lab.applyScript(p0.ns, lab.renderScript([all[2]]));
        assert.deepEqual(installedDestinations(saveRules(p0.ns)), [{ destination: all[2], probability: undefined }]);
        report(`convergence: 5 destinations -> [${next.join(", ")}] -> [${all[2]}]; 600 connections went ${got.join("/")} over the six public addresses`);
        standard();
    });

    it("bad destinations exit 2 and change nothing", function () {
        const lab = L();
        const live = lab.state.proxies[0].ns;
        const before = saveRules(live);
        const bad = ["203.0.113.300", "203.0.113", "203.0.113.10/32", "nlb.example.com", "2001:db8::1", "203.0.113.010",
            "203.0.113.10,203.0.113.10", "127.0.0.1", "169.254.169.254", "224.0.0.1", "0.0.0.0", "", "203.0.113.10;reboot",
            "$(touch /tmp/crp-pwned)"];
        for (const value of bad) {
            const r = lab.render(["--destinations", value, "--ports", "80,443", "--format", "script"]);
            assert.equal(r.status, 2, `--destinations '${value}' exited ${r.status}`);
            assert.equal(r.stdout, "", `--destinations '${value}' printed an artifact`);
            assert.match(r.stderr, /destinations/, `--destinations '${value}': ${r.stderr}`);
        }
        for (const args of [["--nat-ports", "40007-40000"], ["--nat-ports", "0-10"], ["--nat-ports", "70000-70001"], ["--ports", "0"], ["--ports", "80,http"]]) {
            const r = lab.render(["--destinations", "203.0.113.10", "--ports", "80", ...args]);
            assert.equal(r.status, 2, `${args.join(" ")} exited ${r.status}`);
            assert.equal(r.stdout, "");
        }
        assert.ok(!fs.existsSync("/tmp/crp-pwned"));
        assert.deepEqual(saveRules(live), before);

        // A script whose embedded rules were tampered with must refuse to run and leave everything as it was,
        // on a live proxy and on a fresh host (where ip_forward must stay 0).
        const valid = lab.renderScript(dests(3));
        const target = dests(3)[1];
        assert.ok(valid.includes(` ${target} `));
        const tampered = {
            "invalid address": valid.replace(/^(destinations=\(.*) \S+( .*\))$/m, "$1 198.51.100.300$2"),
            "truncated document": valid.replace(/COMMIT\n(?![\s\S]*COMMIT)/, ""),
        };
        const fresh = lab.addNamespace("tamper");
        inNs(fresh, "iptables", ["-w", "-A", "FORWARD", "-m", "comment", "--comment", "foreign", "-j", "ACCEPT"]);
        const codes: string[] = [];
        for (const [what, script] of Object.entries(tampered)) {
            assert.notEqual(script, valid);
            for (const ns of [live, fresh]) {
                const rulesBefore = saveRules(ns);
                const forwardBefore = sysctl(ns, "net.ipv4.ip_forward");
                const timeoutBefore = sysctl(ns, "net.netfilter.nf_conntrack_tcp_timeout_established");
                const r = lab.applyScript(ns, script, "tampered");
                assert.notEqual(r.status, 0, `${what}: the script must fail`);
                assert.equal(r.status, 2, `${what}: expected exit 2, got ${r.status}: ${r.stderr}`);
                assert.deepEqual(saveRules(ns), rulesBefore, `${what}: iptables-save changed`);
                assert.equal(sysctl(ns, "net.ipv4.ip_forward"), forwardBefore);
                assert.equal(sysctl(ns, "net.netfilter.nf_conntrack_tcp_timeout_established"), timeoutBefore);
                codes.push(`${what} in ${ns === live ? "live proxy" : "fresh namespace"}: exit ${r.status}`);
            }
        }
        assert.equal(sysctl(fresh, "net.ipv4.ip_forward"), "0");
        report(`bad input: ${bad.length} bad --destinations and 5 bad flags -> exit 2, no output; tampered scripts: ${codes.join("; ")}; rules and sysctls unchanged`);
    });

    {
        const cases: Array<{ k: number; n: number }> = [{ k: 8, n: 3 }, { k: 4, n: 5 }];
        for (const { k, n } of cases) {
            it(`NAT ports, exhaustive search: K = ${k} NAT ports, N = ${n} destinations: one proxy holds exactly K x N = ${k * n} connections, the next fails`, async function () {
                const destinations = dests(n);
                const { p0, natPorts, statsBefore, client } = natPortRun(destinations, k);
                try {
                    const t0 = Date.now();
                    type Fill = { successes: number; failures: number; attempts: number; held: number; trace: string };
                    let successes = 0;
                    let failures = 0;
                    const traces: string[] = [];
                    // Fill until 16 attempts in a row fail (all destinations' ports taken), at most 6 rounds.
                    for (let round = 0; round < 6 && successes < k * n; round++) {
                        const fill = await client.send<Fill>(`fill ${k * n * 8} 16`);
                        successes += fill.successes;
                        failures += fill.failures;
                        traces.push(fill.trace);
                        assert.ok(successes <= k * n, `more than K x N = ${k * n} connections: ${successes}`);
                    }
                    const fillSeconds = (Date.now() - t0) / 1000;
                    assert.equal(successes, k * n, `concurrent connections through one proxy: measured ${successes}, predicted K x N = ${k * n}`);
                    const probes: boolean[] = [];
                    for (let i = 0; i < 3; i++) probes.push((await client.send<{ probe: boolean }>("probe")).probe);
                    assert.deepEqual(probes, [false, false, false], `connection ${k * n + 1} must fail`);
                    const entries = conntrackEntries(p0.ns, HOLD_PORT);
                    assert.equal(entries.length, k * n);
                    for (const d of destinations) {
                        const ports = entries.filter(e => e.replySrc === d).map(e => e.replyDport);
                        assert.equal(ports.length, k, `${d} holds ${ports.length} connections`);
                        assert.equal(new Set(ports).size, k, `distinct NAT ports towards ${d}`);
                        assert.ok(ports.every(p => p >= NAT_PORT_FROM && p < NAT_PORT_FROM + k), `NAT ports in ${natPorts}: ${ports.join(",")}`);
                        assert.ok(entries.filter(e => e.replySrc === d).every(e => e.replyDst === p0.outAddress));
                    }
                    const statsAfter = conntrackStats(p0.ns);
                    const insertFailed = statsAfter.insert_failed - statsBefore.insert_failed;
                    const dropped = statsAfter.drop - statsBefore.drop;
                    const failedAttempts = failures + probes.length;
                    assert.ok(insertFailed >= failedAttempts, `insert_failed grew by ${insertFailed}, ${failedAttempts} attempts failed`);

                    // Closed connections: the proxy's conntrack entries go to TIME_WAIT (120 s). Measure how many
                    // new connections get a port back right away (Linux >= 6.5 may evict a TIME_WAIT entry in its
                    // last port-search attempts when the new sequence number is past the old one).
                    await client.send("close");
                    await new Promise(r => setTimeout(r, 300));
                    const timeWait = conntrackEntries(p0.ns, HOLD_PORT).filter(e => e.state === "TIME_WAIT").length;
                    const refill = await client.send<Fill>(`fill ${k * n} ${k * n}`);
                    assert.ok(refill.successes <= k * n);
                    report(`NAT ports K=${k} (${natPorts}), N=${n}: ${successes} concurrent connections held (predicted ${k * n}) after ` +
                        `${successes + failures} attempts in ${fillSeconds.toFixed(1)} s (trace ${traces.join("|")}); connection ${k * n + 1}: failed x3; ` +
                        `conntrack -S insert_failed +${insertFailed}, drop +${dropped} for ${failedAttempts} failed attempts; ` +
                        `after closing all ${k * n}: ${timeWait} in TIME_WAIT, ${refill.successes}/${k * n} new connections got a port at once`);
                } finally {
                    client.stop();
                    await new Promise(r => setTimeout(r, 200));
                    standard();
                    inNs(p0.ns, "conntrack", ["-D", "-p", "tcp", "--orig-port-dst", String(HOLD_PORT)], { allowFailure: true });
                }
            });
        }
    }

    it("NAT ports, bounded search: K = 1024 ports (more than one 128-try round), N = 1: never more than K; measures failures before the range is full", async function () {
        const k = 1024;
        const { p0, natPorts, statsBefore, client } = natPortRun(dests(1), k);
        try {
            const t0 = Date.now();
            const fill = await client.send<{ successes: number; failures: number; trace: string }>(`fill ${k + 400} 16`);
            const seconds = (Date.now() - t0) / 1000;
            assert.ok(fill.successes <= k, `more than K = ${k}: ${fill.successes}`);
            // At 95 % of the range a search of 248 tries fails with probability 0.95^248 ≈ 3e-6: it must get that far.
            assert.ok(fill.successes >= 0.95 * k, `only ${fill.successes} of ${k}`);
            assert.equal(conntrackEntries(p0.ns, HOLD_PORT).length, fill.successes);
            // A failure followed later by a success failed while a port was free: the search gave up early.
            const lastSuccess = fill.trace.lastIndexOf("+");
            const early = [...fill.trace.slice(0, lastSuccess)].filter(c => c === "x").length;
            const firstFailure = fill.trace.indexOf("x");
            const insertFailed = conntrackStats(p0.ns).insert_failed - statsBefore.insert_failed;
            assert.ok(insertFailed >= fill.failures);
            report(`bounded port search, K=${k} (${natPorts}), N=1: ${fill.successes} of ${k} ports used in ${seconds.toFixed(1)} s; ` +
                `first failure at connection ${firstFailure + 1} (${(100 * firstFailure / k).toFixed(1)} % of the range taken); ` +
                `${early} attempts failed while ports were still free; insert_failed +${insertFailed}`);
        } finally {
            client.stop();
            await new Promise(r => setTimeout(r, 300));
            standard();
            inNs(p0.ns, "conntrack", ["-D", "-p", "tcp", "--orig-port-dst", String(HOLD_PORT)], { allowFailure: true });
        }
    });

    it("the data path still works for the user after all of the above (both names, both proxies)", function () {
        const lab = L();
        const seen = new Set<string>();
        // 24 new connections over 2 proxies: all on one proxy has a chance of 2^-23.
        for (let i = 0; i < 24; i++) {
            const host = i % 2 ? USER_HOST : `test.${DOMAIN}`;
            const r = lab.userCurl(`https://${host}/ip`);
            assert.equal(r.status, 0, `${host}: ${r.stderr}`);
            seen.add((JSON.parse(r.stdout) as { origin: string }).origin);
        }
        assert.deepEqual([...seen].sort(), lab.state.proxies.map(p => p.outAddress).sort(), "every proxy carried the user's connections");
    });
});
