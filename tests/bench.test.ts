// The bench's pure parts (bench/*.ts): flags, ABBA order, statistics, counter and tool-output parsing,
// aggregation, targets, proxy configurations and the SVG chart. No root, no namespaces.
import * as assert from "node:assert/strict";
import { renderChart } from "../bench/chart";
import { delta, parseConntrackStats, parseNstat, pick, sum } from "../bench/counters";
import { parseIperfJson } from "../bench/iperf";
import { parseBenchArgs, PATH_NAMES } from "../bench/options";
import { haproxyConfig, nginxStreamConfig, NGINX_STREAM_MODULE } from "../bench/proxies";
import { BenchResult, checkTargets, formatTable, Measurement, summarizeResult } from "../bench/results";
import { abbaSchedule } from "../bench/schedule";
import { median, spread, summarize } from "../bench/stats";
import { combine, parseWrkOutput, wrkScript } from "../bench/wrk";
import { isUsageError } from "../core/cli";

describe("bench: flags (bench/options.ts)", () => {
    it("defaults meet the issue's minimums: 3 ABBA rounds, 20 s of sustained churn, 16 clients, all four paths", () => {
        const o = parseBenchArgs([]);
        assert.equal(o.rounds, 3);
        assert.equal(o.seconds, 20);
        assert.equal(o.clients, 16);
        assert.deepEqual(o.paths, [...PATH_NAMES]);
        assert.equal(o.chart, "docs/benchmarks.svg");
        assert.equal(o.json, undefined);
    });

    it("reads every flag", () => {
        const o = parseBenchArgs(["--rounds", "5", "--seconds", "30", "--paths", "script,routed", "--render=--time-wait-timeout 120",
            "--json", "/tmp/x.json", "--chart", "/tmp/x.svg", "--clients", "20", "--destinations", "6"]);
        assert.equal(o.rounds, 5);
        assert.equal(o.seconds, 30);
        assert.deepEqual(o.paths, ["script", "routed"]);
        assert.deepEqual(o.render, ["--time-wait-timeout", "120"]);
        assert.equal(o.json, "/tmp/x.json");
        assert.equal(o.chart, "/tmp/x.svg");
        assert.equal(o.clients, 20);
        assert.equal(o.destinations, 6);
    });

    it("--help is not an error", () => assert.equal(parseBenchArgs(["--help"]).help, true));

    for (const [argv, message] of [
        [["--json", "a", "--json", "b"], /--json: is given more than once/],
        [["--rounds", "2"], /--rounds: expected an integer from 3 to 9/],
        [["--seconds", "20s"], /--seconds/],
        [["--paths", "routed,socat"], /unknown path 'socat'/],
        [["--paths", "routed,routed"], /at most once/],
        [["--render=--x;rm"], /--render: unexpected word/],
        [["extra"], /extra: is not a flag/],
    ] as Array<[string[], RegExp]>) {
        it(`rejects ${argv.join(" ")}`, () => assert.throws(() => parseBenchArgs(argv), (e: Error) => isUsageError(e) && message.test(e.message)));
    }

    it("rejects an unknown flag (node's parser)", () => assert.throws(() => parseBenchArgs(["--nope"]), /Unknown option/));
});

describe("bench: ABBA schedule and statistics", () => {
    it("reverses every other round, so each path is measured early and late", () => {
        const s = abbaSchedule(["A", "B", "C"], 3).map(x => `${x.round}${x.path}`);
        assert.deepEqual(s, ["0A", "0B", "0C", "1C", "1B", "1A", "2A", "2B", "2C"]);
    });

    it("refuses zero rounds", () => assert.throws(() => abbaSchedule(["A"], 0), /positive integer/));

    it("median and spread", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 2, 3]), 2.5);
        assert.equal(spread([90, 100, 110]), 0.2);
        assert.equal(spread([5]), 0);
        assert.deepEqual(summarize([1, 3, 2]), { median: 2, min: 1, max: 3, spread: 1 });
        assert.throws(() => median([]), /no values/);
    });
});

describe("bench: counters (bench/counters.ts)", () => {
    it("parses nstat -asz, including zeros", () => {
        const c = parseNstat("#kernel\nTcpPassiveOpens                 1234               0.0\nTcpExtPAWSTimewait              0                  0.0\nTcpExtTW    99  0.0\n");
        assert.deepEqual(c, { TcpPassiveOpens: 1234, TcpExtPAWSTimewait: 0, TcpExtTW: 99 });
    });

    it("sums conntrack -S over CPUs", () => {
        const c = parseConntrackStats("cpu=0   \tfound=3 invalid=0 insert=0 insert_failed=1 drop=1 early_drop=0 error=0 search_restart=2 clash_resolve=0 chaintoolong=0 \n" +
            "cpu=1   \tfound=5 invalid=1 insert=0 insert_failed=0 drop=0 early_drop=4 error=0 search_restart=0 clash_resolve=1 chaintoolong=0 \n");
        assert.equal(c.found, 8);
        assert.equal(c.insert_failed, 1);
        assert.equal(c.early_drop, 4);
        assert.equal(c.cpu, undefined);
    });

    it("takes deltas, sums namespaces and picks keys", () => {
        assert.deepEqual(delta({ a: 1, b: 5 }, { a: 4, b: 5, c: 2 }), { a: 3, b: 0, c: 2 });
        assert.deepEqual(sum([{ a: 1 }, { a: 2, b: 3 }]), { a: 3, b: 3 });
        assert.deepEqual(pick({ a: 1, z: 9 }, ["a", "b"]), { a: 1, b: 0 });
    });
});

describe("bench: load generators' output", () => {
    it("wrk's Lua script sets the Host (and Connection: close for churn) and prints one summary line", () => {
        const close = wrkScript("test.poc1010.example.com", true);
        assert.match(close, /wrk\.headers\["Host"\] = "test\.poc1010\.example\.com"/);
        assert.match(close, /wrk\.headers\["Connection"\] = "close"/);
        assert.doesNotMatch(wrkScript("h.example", false), /Connection/);
        assert.throws(() => wrkScript('x"]; os.execute("id")', true), /bad Host/);
    });

    it("parses the summary and combines clients over the longest duration", () => {
        const a = parseWrkOutput("Running 20s test\nWRK-SUMMARY {\"requests\":2000,\"durationUs\":20000000,\"bytes\":1,\"connect\":0,\"read\":1,\"write\":0,\"status\":0,\"timeout\":2}\n");
        const b = { ...a, requests: 1000, durationUs: 10_000_000, read: 0, timeout: 0 };
        assert.deepEqual(combine([a, b]), { perSecond: 150, requests: 3000, errors: 3 });
        assert.throws(() => parseWrkOutput("unable to connect to 1.2.3.4:http Connection refused\n"), /no summary:\nunable to connect/);
    });

    it("reads iperf3 -J, and its errors", () => {
        assert.equal(parseIperfJson(JSON.stringify({ end: { sum_received: { bits_per_second: 1.5e10 } } })), 1.5e10);
        assert.throws(() => parseIperfJson(JSON.stringify({ error: "unable to connect to server" })), /iperf3: unable to connect/);
        assert.throws(() => parseIperfJson("{}"), /no end\.sum_received/);
    });
});

describe("bench: user-space proxies' configurations (bench/proxies.ts)", () => {
    const p = { listen: "198.18.12.2", ports: [80, 5201], destinations: ["203.0.113.10", "198.51.100.10"], dir: "/tmp/crp-lab-abcdef" };
    it("HAProxy: TCP mode, one listener per port, round robin over every destination on the same port", () => {
        const c = haproxyConfig(p);
        assert.match(c, /mode tcp/);
        assert.match(c, /listen port80\n {4}bind 198\.18\.12\.2:80\n {4}balance roundrobin\n {4}server d0 203\.0\.113\.10:80\n {4}server d1 198\.51\.100\.10:80/);
        assert.match(c, /bind 198\.18\.12\.2:5201/);
    });

    it("nginx: loads Debian's stream module and proxies each port to an upstream of every destination", () => {
        const c = nginxStreamConfig(p);
        assert.ok(c.startsWith(`load_module ${NGINX_STREAM_MODULE};\n`));
        assert.match(c, /upstream port80 \{\n {8}server 203\.0\.113\.10:80;\n {8}server 198\.51\.100\.10:80;\n {4}\}\n {4}server \{ listen 198\.18\.12\.2:80; proxy_pass port80; \}/);
    });

    it("refuses values that are not addresses, ports or plain paths", () => {
        assert.throws(() => haproxyConfig({ ...p, destinations: ["1.2.3.4\n    server x 9.9.9.9"] }), /not an IPv4 address/);
        assert.throws(() => nginxStreamConfig({ ...p, ports: [0] }), /not a port/);
        assert.throws(() => nginxStreamConfig({ ...p, dir: "/tmp/a;b" }), /unsafe directory/);
    });
});

function m(path: Measurement["path"], round: number, newConn: number, extra: Partial<Measurement> = {}): Measurement {
    return {
        round, path, load1: 1, newConnPerSecond: newConn, newConnErrors: 0, keepalivePerSecond: newConn * 10, keepaliveErrors: 0,
        bulkGbps: newConn / 1000, conntrack: { found: 1 }, conntrackCount: round, backend: { TcpExtPAWSTimewait: round },
        clients: { TcpExtTCPSynRetrans: 2 }, ...extra,
    };
}

const RESULT: BenchResult = {
    command: "npm run bench",
    machine: { nproc: 2, kernel: "6.18", loadBefore: [1, 1, 1], loadAfter: [2, 2, 2], date: "2026-11-29T00:00:00Z" },
    settings: {},
    paths: [{ name: "routed", what: "r" }, { name: "script", what: "s" }, { name: "haproxy", what: "h" }],
    measurements: [
        m("routed", 0, 10_000), m("script", 0, 9_000), m("haproxy", 0, 5_000),
        m("haproxy", 1, 6_000), m("script", 1, 8_000), m("routed", 1, 12_000),
        m("routed", 2, 11_000), m("script", 2, 9_500, { newConnErrors: 4 }), m("haproxy", 2, 7_000),
    ],
};

describe("bench: results (bench/results.ts)", () => {
    const summary = summarizeResult(RESULT);

    it("summarizes each path: median, spread, ratio to routed, counters summed over rounds", () => {
        const script = summary.find(s => s.path === "script")!;
        assert.equal(script.rounds, 3);
        assert.equal(script.newConn.median, 9_000);
        assert.equal(script.newConn.spread, 1_500 / 9_000);
        assert.equal(script.ratio.newConn, 9_000 / 11_000);
        assert.equal(script.errors, 4);
        assert.equal(script.backend.TcpExtPAWSTimewait, 0 + 1 + 2);
        assert.equal(script.clients.TcpExtTCPSynRetrans, 6);
        assert.equal(script.conntrackCountLast, 2);
        assert.equal(summary.find(s => s.path === "routed")!.ratio.newConn, 1);
    });

    it("checks the issue's targets against the medians", () => {
        const t = Object.fromEntries(checkTargets(summary).map(x => [x.what, x]));
        assert.equal(t["script new conn/s vs routed"].met, false); // 0.82 < 0.85
        assert.equal(t["script new conn/s vs HAProxy"].ratio, 9_000 / 6_000);
        assert.equal(t["script new conn/s vs HAProxy"].met, true);
        assert.equal(Object.keys(t).length, 4);
    });

    it("formats a Markdown table with the ratios and the counters", () => {
        const table = formatTable(summary);
        assert.match(table, /\| script \| 9,000 \(±8%\) \| 0\.82x \|/);
        assert.match(table, /\| routed \| 11,000 /);
        assert.match(table, /backend PAWSTimewait/);
    });

    it("draws one bar per path and panel, whiskers from min to max, ratios in the labels", () => {
        const svg = renderChart(summary, "npm run bench <test> & co");
        assert.ok(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert.equal((svg.match(/<rect x=/g) ?? []).length, 3 * 3);
        assert.match(svg, /9,000 {2}\(0\.82x routed\)/);
        assert.match(svg, /npm run bench &lt;test&gt; &amp; co/);
        // The longest whisker of a panel ends at the right edge of the plot area.
        assert.match(svg, /x2="730\.0"/);
    });
});
