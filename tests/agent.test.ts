// The agent (proxy/agent.ts) and the state functions it shares with the forwarding script (proxy/state.ts),
// pure: its bash is well formed, its document is renderRestoreDocument's for any healthy set, the systemd
// units pass systemd-analyze and the user-data cloud-init's own schema check. The lab runs it for real.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import fc from "fast-check";
import { MAX_DESTINATIONS, MAX_PORTS } from "../core/validate";
import { which } from "../lab/exec";
import { functionOf, shellFunctions } from "./shell";
import { HEALTH_THRESHOLD, METRICS, METRICS_NAMESPACE, REGION_DIMENSION, REGION_METRICS, renderHealthAgent } from "../proxy/agent";
import { destinationRules, renderRestoreDocument } from "../proxy/rules";
import { renderForwardingScript } from "../proxy/script";
import { forwardingSpec } from "../proxy/spec";
import {
    AGENT_PATH, AGENT_UNIT, AGENT_UNIT_NAME, encodeUserData, gzipStable, renderUserData, SCRIPT_PATH, UNIT, UNIT_NAME, USER_DATA_LIMIT_BYTES,
} from "../proxy/userData";

const bash = (script: string) => spawnSync("bash", ["-c", script], { encoding: "utf8" });

/** Skips when a validating tool is missing, saying so; under CI=true (.ci/run installs it) fails instead. */
function requireTool(context: Mocha.Context, tool: string, pkg: string): void {
    if (which(tool)) return;
    const message = `${tool} is missing (Debian package ${pkg}; .ci/run installs it)`;
    if (process.env.CI === "true") throw new Error(message);
    console.log(`      skipped: ${message}`);
    context.skip();
}

/** The program's document() for a healthy set's rotation, with jump_repairs stubbed to print nothing. */
function documentFor(program: string, healthy: readonly string[]): string {
    const result = bash(`${shellFunctions(program)}jump_repairs() { :; }\nweigh ${healthy.join(" ")}\ndocument "\${rotation[@]}"`);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
}

const destinations = (n: number) => Array.from({ length: n }, (_, i) => `198.51.100.${i + 1}`);
const ALL_32 = destinations(32);
/** renderRestoreDocument as document() prints it with no jump repairs: one empty line before each COMMIT. */
const expectedDocument = (all: readonly string[], healthy: readonly string[]) =>
    renderRestoreDocument(forwardingSpec({ destinations: all, ports: [80, 443] }), destinationRules(healthy), () => [""]);

describe("the agent", () => {
    for (const n of [1, 3, 32]) {
        it(`is valid bash for ${n} destination(s)`, () => {
            const result = spawnSync("bash", ["-n"], { input: renderHealthAgent(forwardingSpec({ destinations: destinations(n), ports: [80, 443] })), encoding: "utf8" });
            assert.equal(result.status, 0, result.stderr);
        });
    }

    it("prints renderRestoreDocument's document for every healthy prefix of 32 destinations", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: ALL_32, ports: [80, 443] }));
        for (const n of [1, 2, 5, 31, 32]) {
            assert.equal(documentFor(agent, ALL_32.slice(0, n)), expectedDocument(ALL_32, ALL_32.slice(0, n)));
        }
    });

    it("prints, for any healthy subset, exactly the forwarding script's document for that subset", () => {
        fc.assert(fc.property(fc.integer({ min: 1, max: 32 }), fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }), (n, keep) => {
            const all = destinations(n);
            const healthy = all.filter((_, i) => keep[i]);
            if (healthy.length === 0) return;
            const agent = renderHealthAgent(forwardingSpec({ destinations: all, ports: [80, 443] }));
            assert.equal(documentFor(agent, healthy), expectedDocument(all, healthy));
        }), { numRuns: 30 });
    });

    it("shares its state functions with the forwarding script, byte for byte", () => {
        const spec = forwardingSpec({ destinations: destinations(3), ports: [80, 443] });
        const agent = renderHealthAgent(spec);
        const script = renderForwardingScript(spec);
        for (const name of ["destination_rules", "jump_repairs", "document", "observed", "settings", "forget", "converge", "lock"]) {
            const fromAgent = name === "lock" ? /^lock\(\).*$/m.exec(agent)?.[0] : functionOf(agent, name);
            const fromScript = name === "lock" ? /^lock\(\).*$/m.exec(script)?.[0] : functionOf(script, name);
            assert.ok(fromAgent);
            assert.equal(fromAgent, fromScript, name);
        }
    });

    it("carries exactly the spec's destinations and ports, and its thresholds", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: ["203.0.113.10", "192.0.2.7"], ports: [443, 80] }));
        assert.match(agent, /^destinations=\(203\.0\.113\.10 192\.0\.2\.7\)$/m);
        assert.match(agent, /^ports=\(443 80\)$/m);
        assert.match(agent, new RegExp(`"\\$\\{streak\\[\\$d\\]\\}" -ge ${HEALTH_THRESHOLD} `));
    });

    it("runs its body only from the last line, after a guard that fails an incomplete file", () => {
        for (const program of [renderHealthAgent(forwardingSpec({ destinations: destinations(2), ports: [80] })),
            renderForwardingScript(forwardingSpec({ destinations: destinations(2), ports: [80] }))]) {
            const lines = program.split("\n");
            assert.match(lines[1], /^trap '.*exit 3; }' EXIT$/);
            assert.equal(lines[lines.length - 2], 'main "$@"');
            assert.equal(lines[lines.length - 1], "");
            // Every other top-level line is a comment, an assignment, `set` or a function definition.
            const body = lines.slice(2, -2).filter(l => l !== "" && !/^[ }#]/.test(l));
            for (const l of body) assert.match(l, /^([a-z_]+=|set |declare |[a-z_]+\(\) \{|setting |CRPROXY_RULES$|\*|:|-A |\$\(|COMMIT$|fail\(\))/, l);
        }
    });

    it("sends the metrics the alarms and the scaling policies use, in its own namespace, from bash that builds valid JSON", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: destinations(2), ports: [80] }));
        assert.match(agent, new RegExp(`put-metric-data --namespace ${METRICS_NAMESPACE} --metric-data "\\$data"`));
        const functions = ["metric", "metric_data", "per_second", "ena_metrics"].map(name => functionOf(agent, name)).join("");
        const figures = (state: string, ena: string) => {
            const result = bash(`ena_counters() { ${ena}; }
${functions}group=crp-asg answering=1 fail_open=0 count=5 max=100 used=5 insert_failed=7 drop=3 early_drop=2 repairs=4 now=1060000000 ${state}
metric_data; printf '%s' "$data"`);
            assert.equal(result.status, 0, result.stderr);
            const data = JSON.parse(result.stdout) as Array<{ MetricName: string; Value: number; Dimensions: unknown }>;
            for (const d of data) assert.deepEqual(d.Dimensions, [{ Name: "AutoScalingGroupName", Value: "crp-asg" }]);
            return { values: Object.fromEntries(data.map(d => [d.MetricName, d.Value])), said: result.stderr };
        };
        const base = {
            [METRICS.healthyDestinations]: 1, [METRICS.failOpen]: 0, [METRICS.conntrackCount]: 5, [METRICS.conntrackMax]: 100,
            [METRICS.insertFailed]: 5, [METRICS.drop]: 0, [METRICS.earlyDrop]: 2, [METRICS.repairs]: 3,
        };
        // In service: the scaling signal (120 new connections in 60 s), and the ENA counter's delta.
        const sent = (proxied: number) => `declare -A sent=([insert_failed]=2 [drop]=3 [early_drop]=0 [repairs]=1 [at]=1000000000 ` +
            `[proxied]=${proxied} [${METRICS.bwInAllowanceExceeded}]=10)\n`;
        assert.deepEqual(figures(`proxied=130 drain_started=\n${sent(10)}`, `echo ${METRICS.bwInAllowanceExceeded} 15`).values,
            { ...base, [METRICS.draining]: 0, [METRICS.conntrackUsedPercent]: 5, [METRICS.newConnectionsPerSecond]: 2, [METRICS.bwInAllowanceExceeded]: 5 });
        // The nat chain was rewritten (its counter restarted below the last figure): counted from zero.
        assert.equal(figures(`proxied=30 drain_started=\n${sent(100)}`, "true").values[METRICS.newConnectionsPerSecond], 0.5);
        // Draining: no scaling signal; no ENA counters on this host: none sent.
        assert.deepEqual(figures(`proxied=130 drain_started=1000\n${sent(10)}`, "true").values, { ...base, [METRICS.draining]: 1 });
        // Why there are none, as the agent says once at start.
        const absence = bash(`${functionOf(agent, "ena_absence")}ena_absence`).stdout.trim();
        assert.match(absence, which("ethtool") ? /^no ENA allowance counters on .*\(not ENA interfaces\)$/ : /^ethtool is not installed$/);
        assert.match(agent, /log "\$\(ena_absence\): the ENA allowance metrics are not sent"/);
    });

    it("counts as drained only the proxied connections that have closed (TIME_WAIT, CLOSE), half-closed ones still count", () => {
        const spec = forwardingSpec({ destinations: destinations(2), ports: [80] });
        const agent = renderHealthAgent(spec);
        assert.match(agent, /conntrack -L -p tcp --mark 0x4000\/0x4000 /);
        const listing = ["ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "SYN_SENT", "TIME_WAIT", "CLOSE", "TIME_WAIT"]
            .map((state, i) => `tcp      6 ${100 + i} ${state} src=198.18.1.2 dst=198.18.10.2 sport=${40000 + i} dport=80 src=198.51.100.1 dst=198.18.20.2 sport=80 dport=${50000 + i} [ASSURED] mark=16384 use=1`);
        const result = bash(`conntrack() { printf '%s\\n' ${listing.map(l => `'${l}'`).join(" ")}; }\n${functionOf(agent, "live_connections")}live_connections`);
        assert.equal(result.stdout.trim(), "5");
    });

    it("sends each region's healthy destinations and share in a call of its own, dimensioned by the region's stack", () => {
        const regions = [{ name: "org/p/global-use2", destinations: destinations(2) }, { name: "org/p/global-euc1", destinations: ["192.0.2.1"] }];
        const agent = renderHealthAgent(forwardingSpec({ regions, ports: [80] }));
        const collect = functionOf(agent, "collect_metrics");
        assert.ok(collect.includes(`region_data\n  aws_cli cloudwatch put-metric-data --namespace ${METRICS_NAMESPACE} --metric-data "$data"`), "a call of their own");
        const result = bash(`group=crp-asg; region_names=(${regions.map(r => r.name).join(" ")}); region_healthy=(2 0); region_percent=(100 0)
${functionOf(agent, "metric")}${functionOf(agent, "region_data")}region_data; printf '%s' "$data"`);
        assert.equal(result.status, 0, result.stderr);
        const data = JSON.parse(result.stdout) as Array<{ MetricName: string; Value: number; Unit: string; Dimensions: unknown }>;
        assert.deepEqual(data.map(d => [d.MetricName, d.Value, d.Unit, d.Dimensions]), regions.flatMap((r, i) => [
            [REGION_METRICS.healthyDestinations, [2, 0][i], "Count", [{ Name: "AutoScalingGroupName", Value: "crp-asg" }, { Name: REGION_DIMENSION, Value: r.name }]],
            [REGION_METRICS.sharePercent, [100, 0][i], "Percent", [{ Name: "AutoScalingGroupName", Value: "crp-asg" }, { Name: REGION_DIMENSION, Value: r.name }]],
        ]));
    });

    it("probes a destination in rotation that failed once again at once, and one out of rotation at the interval", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: destinations(1), ports: [80] }));
        const decide = functionOf(agent, "decide");
        // One failed probe of a destination in rotation: recheck; the second ejects it (no recheck then); answers of
        // a destination out of rotation: never a recheck (readmission keeps the interval, so flapping stays out).
        const run = (up: number, answered: number, streak: number) => bash(`destinations=(198.51.100.1); region_of=(0); region_names=(r)
region_shares=(10000); region_weights=(100); region_priorities=(1); state=$(mktemp -d); fail_open=0 logged_shares=
declare -A up=([198.51.100.1]=${up}) streak=([198.51.100.1]=${streak}) answered=([198.51.100.1]=${answered})
log() { :; }
${shellFunctions(agent).replace(/^(destinations|region_[a-z]+|ports)=\(.*\)$/gm, "")}${decide}decide; echo "$recheck \${up[198.51.100.1]}"; rm -r "$state"`);
        const outcome = (up: number, answered: number, streak: number) => {
            const r = run(up, answered, streak);
            assert.equal(r.status, 0, r.stderr);
            return r.stdout.trim();
        };
        assert.equal(outcome(1, 0, 0), "yes 1", "first failure: probe again at once");
        assert.equal(outcome(1, 0, 1), "no 0", "second failure: out, no recheck");
        assert.equal(outcome(0, 1, 0), "no 0", "first answer of a destination out of rotation: wait the interval");
        assert.equal(outcome(0, 1, 1), "no 1", "second answer: back");
        assert.match(agent, /^ {4}\[ "\$recheck" = no \] \|\| rest=0$/m, "the main loop skips its sleep after a recheck");
    });
});

describe("the proxy's systemd units and user-data", () => {
    const most = forwardingSpec({
        destinations: Array.from({ length: MAX_DESTINATIONS }, (_, i) => `203.0.113.${100 + i}`),
        ports: Array.from({ length: MAX_PORTS }, (_, i) => 60000 + i),
        natPorts: { from: 10000, to: 65535 }, conntrackMax: 16777216, establishedTimeoutSeconds: 432000,
    });

    it("gzips the user-data to the same bytes on any deploying machine: mtime 0, OS byte 255 (unknown)", () => {
        const bytes = gzipStable("#!/bin/bash\necho hello\n");
        assert.deepEqual([...bytes.subarray(4, 10)], [0, 0, 0, 0, 2, 0xff], "mtime 0, maximum compression, OS unknown");
        assert.equal(zlib.gunzipSync(bytes).toString("utf8"), "#!/bin/bash\necho hello\n");
        const shipped = encodeUserData(renderUserData(forwardingSpec({ destinations: destinations(3), ports: [80, 443] })));
        assert.deepEqual([...shipped.subarray(0, 2), ...shipped.subarray(4, 10)], [0x1f, 0x8b, 0, 0, 0, 0, 2, 0xff], "the shipped user-data too");
    });

    it("runs the agent as a long-lived service, restarted always, after the forwarding unit, at boot", () => {
        assert.match(AGENT_UNIT, /^Type=simple$/m);
        assert.match(AGENT_UNIT, /^Restart=always$/m);
        assert.match(AGENT_UNIT, /^StartLimitIntervalSec=0$/m);
        assert.match(AGENT_UNIT, new RegExp(`^After=${UNIT_NAME} network-online\\.target$`, "m"));
        assert.match(AGENT_UNIT, new RegExp(`^Wants=${UNIT_NAME} network-online\\.target$`, "m"));
        assert.match(AGENT_UNIT, /^WantedBy=multi-user\.target$/m);
        const userData = renderUserData(forwardingSpec({ destinations: destinations(3), ports: [80, 443] }));
        assert.match(userData, new RegExp(`^ {2}- \\[systemctl, enable, --now, ${AGENT_UNIT_NAME.replace(/\./g, "\\.")}\\]\\n$`, "m"));
        assert.doesNotMatch(userData, /\.timer/);
    });

    it("passes systemd-analyze verify", function () {
        requireTool(this, "systemd-analyze", "systemd");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crp-units-"));
        try {
            // verify wants the ExecStart programs to exist: point both units at a stand-in of this run.
            const program = path.join(dir, "program");
            fs.writeFileSync(program, "#!/bin/bash\n", { mode: 0o755 });
            const files = [[UNIT_NAME, UNIT, SCRIPT_PATH], [AGENT_UNIT_NAME, AGENT_UNIT, AGENT_PATH]].map(([name, text, exec]) => {
                const file = path.join(dir, name);
                fs.writeFileSync(file, text.replace(`ExecStart=${exec}`, `ExecStart=${program}`));
                return file;
            });
            const result = spawnSync("systemd-analyze", ["verify", ...files], { encoding: "utf8", cwd: dir });
            assert.equal(result.status, 0, result.stderr);
            assert.equal(result.stderr.trim(), "", "no warning either");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    for (const [what, spec] of [["3 destinations, 2 ports", forwardingSpec({ destinations: destinations(3), ports: [80, 443] })],
        [`the largest input (${MAX_DESTINATIONS} destinations, ${MAX_PORTS} ports)`, most]] as const) {
        it(`for ${what}: within EC2's 16 KiB gzipped, read back by cloud-init's own decoder, valid for its schema, the programs in plain text`, function () {
            const userData = renderUserData(spec);
            const encoded = encodeUserData(userData);
            assert.ok(encoded.length <= USER_DATA_LIMIT_BYTES, `${encoded.length} bytes`);
            for (const program of [renderForwardingScript(spec), renderHealthAgent(spec)]) {
                assert.ok(userData.includes(program.replace(/\n$/, "").split("\n").map(l => (l ? `      ${l}` : "")).join("\n")), "a literal block of the program");
            }
            requireTool(this, "cloud-init", "cloud-init");
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crp-user-data-"));
            try {
                const file = path.join(dir, "user-data");
                fs.writeFileSync(file, encoded);
                // The function cloud-init reads user-data with (cloudinit/user_data.py): it gunzips.
                const decoded = spawnSync("/usr/bin/python3", ["-c", "import sys\nfrom cloudinit.user_data import convert_string\n" +
                    "sys.stdout.buffer.write(convert_string(open(sys.argv[1], 'rb').read()).get_payload(decode=True))", file]);
                assert.equal(decoded.status, 0, String(decoded.stderr));
                assert.equal(decoded.stdout.toString("utf8"), userData, "cloud-init reads the text back byte for byte");
                fs.writeFileSync(file, userData);
                const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
                assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
                assert.match(result.stdout, /^Valid schema|Valid cloud-config/m);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }

    it("needs the gzip: the text of the largest input is over 16 KiB, its gzip well under", () => {
        assert.ok(Buffer.byteLength(renderUserData(most)) > USER_DATA_LIMIT_BYTES);
        assert.ok(encodeUserData(renderUserData(most)).length <= USER_DATA_LIMIT_BYTES * 0.75, "a quarter of the limit to spare");
    });
});
