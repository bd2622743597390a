// The proxy:render command line: good input prints exactly what renderArtifact returns; bad input prints
// nothing on stdout, a message naming the flag on stderr, and exits with status 2. Every case runs the real
// proxy/cli.ts in this process (argv, stdout, stderr and exit stubbed), which is fast; a few also run as a
// real process (node + ts-node, as `npm run proxy:render` does), in parallel, for the exit status and pipes.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import { renderArtifact } from "../proxy/render";

const ROOT = path.join(__dirname, "..");

interface Run { readonly status: number | null; readonly stdout: string; readonly stderr: string }

class Exit {
    constructor(readonly code: number) {}
}

/** Loads proxy/cli.ts afresh with these arguments, capturing what it writes and the status it exits with. */
function cliInProcess(args: string[]): Run {
    const load = createRequire(__filename);
    const file = load.resolve("../proxy/cli");
    delete load.cache[file];
    const saved = { argv: process.argv, out: process.stdout.write, err: process.stderr.write, exit: process.exit };
    let stdout = "";
    let stderr = "";
    let status: number | null = 0;
    process.argv = [process.argv[0], path.join(ROOT, "proxy/cli.ts"), ...args];
    process.stdout.write = ((chunk: string | Uint8Array) => { stdout += String(chunk); return true; }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
    process.exit = ((code?: number) => { throw new Exit(code ?? 0); }) as typeof process.exit;
    try {
        load(file);
    } catch (err) {
        if (!(err instanceof Exit)) throw err;
        status = err.code;
    } finally {
        process.argv = saved.argv;
        process.stdout.write = saved.out;
        process.stderr.write = saved.err;
        process.exit = saved.exit;
        delete load.cache[file];
    }
    return { status, stdout, stderr };
}

function cli(args: string[]): Promise<Run> {
    return new Promise(resolve => {
        execFile(process.execPath, ["-r", "ts-node/register/transpile-only", "proxy/cli.ts", ...args],
            { cwd: ROOT, encoding: "utf8", maxBuffer: 16 * 1024 * 1024, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") } },
            (err, stdout, stderr) => {
                const code = err ? (err as { code?: unknown }).code : 0;
                resolve({ status: typeof code === "number" ? code : null, stdout, stderr });
            });
    });
}

const DESTINATIONS = ["203.0.113.10", "203.0.113.11"];

interface Good { readonly title: string; readonly args: string[]; readonly expected: () => string }
interface Bad { readonly title: string; readonly args: string[]; readonly flag: string; readonly gist: RegExp }

const GOOD: Good[] = [
    {
        title: "prints the script by default",
        args: ["--destinations", DESTINATIONS.join(","), "--ports", "80,443"],
        expected: () => renderArtifact("script", { destinations: DESTINATIONS, ports: [80, 443] }),
    },
    {
        title: "prints the user-data with every option",
        args: ["--destinations", " 203.0.113.10, 198.51.100.7 ,10.0.0.1", "--ports", "443", "--format", "user-data", "--nat-ports", "20000-60000",
            "--conntrack-max", "524288", "--established-timeout", "610", "--time-wait-timeout", "90", "--connmark-mask", "0x8000"],
        expected: () => renderArtifact("user-data", {
            destinations: ["203.0.113.10", "198.51.100.7", "10.0.0.1"], ports: [443], natPorts: { from: 20000, to: 60000 },
            conntrackMax: 524288, establishedTimeoutSeconds: 610, timeWaitTimeoutSeconds: 90, connmark: 0x8000,
        }),
    },
    {
        title: "prints the script with --format script and a decimal --connmark-mask",
        args: ["--format=script", "--destinations=198.51.100.7", "--ports=8443", "--connmark-mask", "256"],
        expected: () => renderArtifact("script", { destinations: ["198.51.100.7"], ports: [8443], connmark: 256 }),
    },
    {
        title: "prints the agent for two regions with --region (weight, dial, priority)",
        args: ["--region", "org/p/global-use2=203.0.113.10,203.0.113.11 weight=200", "--region", " org/p/global-euc1=198.51.100.7  dial=50 priority=1 weight=55",
            "--ports", "80,443", "--format", "agent"],
        expected: () => renderArtifact("agent", {
            regions: [{ name: "org/p/global-use2", destinations: DESTINATIONS, weight: "200" }, { name: "org/p/global-euc1", destinations: ["198.51.100.7"], dial: "50", priority: "1", weight: "55" }],
            ports: [80, 443],
        }),
    },
];

const BAD: Bad[] = [
    { title: "a host name", args: ["--destinations", "203.0.113.10,example.com", "--ports", "80"], flag: "--destinations", gist: /'example\.com' is not an IPv4 address/ },
    { title: "a shell injection", args: ["--destinations", "203.0.113.10;reboot", "--ports", "80"], flag: "--destinations", gist: /not an IPv4 address/ },
    { title: "the metadata service", args: ["--destinations", "169.254.169.254", "--ports", "80"], flag: "--destinations", gist: /link-local/ },
    { title: "a duplicate destination", args: ["--destinations", "203.0.113.10,203.0.113.10", "--ports", "80"], flag: "--destinations", gist: /203\.0\.113\.10 is listed twice/ },
    { title: "an empty destination list", args: ["--destinations", "", "--ports", "80"], flag: "--destinations", gist: /needs at least one IPv4 address/ },
    { title: "no --destinations at all", args: ["--ports", "80"], flag: "--destinations", gist: /needs at least one IPv4 address/ },
    { title: "port 0", args: ["--destinations", "203.0.113.10", "--ports", "80,0"], flag: "--ports", gist: /expected a whole number from 1 to 65535, got '0'/ },
    { title: "port 65536", args: ["--destinations", "203.0.113.10", "--ports", "65536"], flag: "--ports", gist: /got '65536'/ },
    { title: "an unknown flag", args: ["--destinations", "203.0.113.10", "--ports", "80", "--bogus"], flag: "--bogus", gist: /Unknown option '--bogus'[\s\S]*usage: proxy:render --destinations/ },
    { title: "a bad --format", args: ["--destinations", "203.0.113.10", "--ports", "80", "--format", "yaml"], flag: "--format", gist: /expected one of script, agent, user-data, got 'yaml'/ },
    { title: "a privileged --nat-ports range", args: ["--destinations", "203.0.113.10", "--ports", "80", "--nat-ports", "80-90"], flag: "--nat-ports", gist: /from 1024 to 65535, got '80'/ },
    { title: "a malformed --nat-ports", args: ["--destinations", "203.0.113.10", "--ports", "80", "--nat-ports", "lots"], flag: "--nat-ports", gist: /expected a port range such as 1024-65535/ },
    { title: "a --connmark-mask that is not a single bit", args: ["--destinations", "203.0.113.10", "--ports", "80", "--connmark-mask", "3"], flag: "--connmark-mask", gist: /not a single bit/ },
    { title: "a repeated flag", args: ["--destinations", "203.0.113.10", "--ports", "80", "--ports", "443"], flag: "--ports", gist: /is given more than once/ },
    { title: "--region without a name", args: ["--region", "203.0.113.10", "--ports", "80"], flag: "--region", gist: /expected 'NAME=IP\[,IP\.\.\.\] \[weight=W\]/ },
    { title: "an unknown --region control", args: ["--region", "a=203.0.113.10 share=5", "--ports", "80"], flag: "--region", gist: /'share=5' is not one of weight=W, dial=D, priority=P/ },
    { title: "a --region weight over 255", args: ["--region", "a=203.0.113.10 weight=256", "--ports", "80"], flag: "--region[0].weight", gist: /from 0 to 255, got '256'/ },
    { title: "a --region name with shell characters", args: ["--region", "a;reboot=203.0.113.10", "--ports", "80"], flag: "--region[0].name", gist: /expected a region name/ },
    { title: "an address in two regions", args: ["--region", "a=203.0.113.10", "--region", "b=203.0.113.10", "--ports", "80"], flag: "--region[1].destinations", gist: /203\.0\.113\.10 is also a destination of region a/ },
    { title: "every region dialed to 0", args: ["--region", "a=203.0.113.10 dial=0", "--region", "b=203.0.113.11 weight=0", "--ports", "80"], flag: "--region", gist: /every region's weight x dial is 0/ },
    { title: "--destinations and --region together", args: ["--destinations", "203.0.113.10", "--region", "a=203.0.113.11", "--ports", "80"], flag: "--region", gist: /give --destinations or --region, not both/ },
];

function checkGood(run: Run, c: Good): void {
    assert.equal(run.stderr, "");
    assert.equal(run.status, 0);
    assert.equal(run.stdout, c.expected());
}

function checkBad(run: Run, c: Bad): void {
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, "");
    assert.ok(run.stderr.startsWith("proxy:render: "), run.stderr);
    assert.ok(run.stderr.includes(c.flag), `stderr should name ${c.flag}: ${run.stderr}`);
    if (c.flag !== "--bogus") {
        // A validation error: one line, "proxy:render: <flag>: <what to fix>".
        assert.ok(run.stderr.startsWith(`proxy:render: ${c.flag}: `), run.stderr);
        assert.equal(run.stderr.split("\n").length, 2, run.stderr);
    }
    assert.match(run.stderr, c.gist);
}

describe("proxy:render (CLI)", () => {
    for (const c of GOOD) {
        it(`${c.title}: exit 0, stdout is renderArtifact's text byte for byte`, () => checkGood(cliInProcess(c.args), c));
    }
    for (const c of BAD) {
        it(`rejects ${c.title}: exit 2, nothing on stdout, stderr names ${c.flag}`, () => checkBad(cliInProcess(c.args), c));
    }
    for (const help of ["--help", "-h"]) {
        it(`${help}: exit 0, the usage on stdout naming every flag, nothing rendered`, () => {
            const run = cliInProcess([help, "--destinations", "203.0.113.10"]);
            assert.equal(run.status, 0);
            assert.equal(run.stderr, "");
            assert.match(run.stdout, /^usage: proxy:render --destinations/);
            for (const flag of ["--ports", "--format", "--nat-ports", "--conntrack-max", "--established-timeout", "--connmark-mask"]) {
                assert.ok(run.stdout.includes(flag), flag);
            }
        });
    }

    describe("as a real process", function () {
        this.timeout(60000);
        const goodCases = GOOD.slice(0, 2);
        const badCases = [BAD[3], BAD[8]];
        let runs: Run[] = [];
        before(async () => {
            runs = await Promise.all([...goodCases, ...badCases].map(c => cli(c.args)));
        });
        goodCases.forEach((c, i) => it(`${c.title}`, () => checkGood(runs[i], c)));
        badCases.forEach((c, i) => it(`rejects ${c.title}`, () => checkBad(runs[goodCases.length + i], c)));
    });
});
