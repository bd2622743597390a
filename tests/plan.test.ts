// `npm run plan`, the main job offline, as a user runs it: a real process, both stacks, no cloud.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CERT, KEY } from "./certificates";

const ROOT = path.join(__dirname, "..");
const FIXTURES = path.join(__dirname, "fixtures", "stacks");

function plan(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/plan.ts", ...args],
        { cwd: ROOT, encoding: "utf8", env: { ...process.env, PULUMI_CONFIG: undefined } });
}

describe("npm run plan", function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crp-plan-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("plans both stacks, feeds the china one with the global plan's addresses, and keeps secrets secret", () => {
        const json = path.join(dir, "plan.json");
        const secret = KEY.split("\n")[1];
        const result = plan("--json", json,
            "--set", "china/cross-region-proxy:cloudfrontEnabled=true",
            "--set", `china/cross-region-proxy:cloudfrontCertificateBody=${CERT}`,
            "--set", `china/cross-region-proxy:cloudfrontPrivateKey=${KEY}`);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, "", "a --json run prints nothing");
        const report = JSON.parse(fs.readFileSync(json, "utf8")) as {
            offline: boolean; stacks: Array<{ stack: string; outputs: Record<string, unknown>; resources: Array<{ type: string; parent?: string }> }>;
        };
        assert.equal(report.offline, true);
        const [global, china] = report.stacks;
        assert.deepEqual(report.stacks.map(s => s.stack), ["global", "china"]);
        assert.deepEqual(china.outputs.destinationIps, global.outputs.nlbPublicIps);
        assert.ok(china.resources.some(r => r.type === "aws:cloudfront/distribution:Distribution"));
        assert.ok(global.resources.some(r => r.type === "aws:lb/loadBalancer:LoadBalancer" && r.parent?.endsWith("::nlb1")));
        assert.ok(!fs.readFileSync(json, "utf8").includes(secret), "the private key never appears");
        const certificate = china.resources.find(r => r.type === "aws:iam/serverCertificate:ServerCertificate") as unknown as { inputs: { privateKey: unknown } };
        assert.equal(certificate.inputs.privateKey, "[secret]");
    });

    it("prints the committed stacks: every component, the user-data, and how to enable a disabled CloudFront", () => {
        const result = plan();
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /^OFFLINE PLAN/);
        for (const component of ["NlbFrontingAlb", "IptablesProxyFleet"]) {
            assert.match(result.stdout, new RegExp(`\\+ cross-region-proxy:index:${component} `), component);
        }
        assert.match(result.stdout, /CloudfrontEdge: disabled by cloudfrontEnabled=false\. To plan it: --set china\/cross-region-proxy:cloudfrontEnabled=true/);
        assert.match(result.stdout, /# destinations: 203\.0\.113\.\d+( 203\.0\.113\.\d+)+\n/, "the user-data names the global plan's addresses");
        assert.match(result.stdout, /proxy user-data \(fed with the global plan.s nlbPublicIps .*; gzipped in the launch template, \d+ bytes, decompressed here\)/);
        assert.match(result.stdout, /^ *destinations=\(203\.0\.113\.\d+( 203\.0\.113\.\d+)+\)$/m, "the decoded forwarding script is printed");
    });

    it("reads stack files as Pulumi writes them and never prints an encrypted value", () => {
        const result = plan("--stack-dir", FIXTURES);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /\+ cross-region-proxy:index:CloudfrontEdge /, "CloudFront planned with the fixture's certificate");
        assert.doesNotMatch(result.stdout + result.stderr, /ZmFrZS1jaXBoZXJ0ZXh0|AAAABBBBCCCC/, "no ciphertext, no salt");
        assert.match(result.stdout, /privateKey: "\[secret\]"/);
        assert.match(result.stdout, /vpc-0a1b2c3d4e5f60718/, "the nested existingVpc object is read");
    });

    it("--help prints the usage and exits 0", () => {
        const result = plan("--help");
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /^usage: npm run plan/);
    });

    const usageErrors: Array<[string, string[], RegExp]> = [
        ["a stack name npm left behind", ["china"], /'china': unexpected argument: npm took the option before it for itself: write 'npm run plan -- --stack china'/],
        ["a repeated flag", ["--stack", "global", "--stack", "china"], /--stack: is given more than once/],
        ["an unknown --set prefix", ["--set", "moon/cross-region-proxy:vpcCidr=10.9.0.0/16"], /--set: unknown stack 'moon\/'/],
        ["an unprefixed key no stack file has", ["--set", "cross-region-proxy:proxyMinSize=3"], /--set: no stack file sets cross-region-proxy:proxyMinSize: say which stack it is for, e\.g\. --set china\/cross-region-proxy:proxyMinSize=3/],
    ];
    for (const [what, args, gist] of usageErrors) {
        it(`rejects ${what} with a message, the usage and exit 2`, () => {
            const result = plan(...args);
            assert.equal(result.status, 2);
            assert.match(result.stderr, gist);
            assert.match(result.stderr, /usage: npm run plan/);
            assert.equal(result.stdout, "");
        });
    }

    it("applies an unprefixed --set to every stack file that has the key", () => {
        const json = path.join(dir, "both.json");
        const result = plan("--json", json, "--set", "cross-region-proxy:cnDomainName=poc2020.example.com");
        assert.equal(result.status, 0, result.stderr);
        const text = fs.readFileSync(json, "utf8");
        assert.match(text, /"httpbinUrl": "https:\/\/httpbin\.poc1009\.example\.com\/"/);
        const report = JSON.parse(text) as { stacks: Array<{ stack: string; outputs: Record<string, unknown> }> };
        assert.equal(report.stacks[1].outputs.proxyUrl, "https://test.poc2020.example.com/", "china");
        assert.ok(text.includes("*.poc2020.example.com"), "global: the ALB's certificate for the china domain");
    });

    it("plans one stack with --stack, and rejects a bad flag with a message", () => {
        const one = plan("--stack", "global");
        assert.equal(one.status, 0, one.stderr);
        assert.doesNotMatch(one.stdout, /=== stack china/);
        const bad = plan("--stack", "moon");
        assert.equal(bad.status, 2, "a usage error");
        assert.match(bad.stderr, /--stack: expected global or china, got 'moon'/);
    });

    it("fails before declaring anything when a stack file's value is invalid", () => {
        const bad = plan("--stack", "global", "--set", "global/cross-region-proxy:vpcCidr=10.300.0.0/16");
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /cross-region-proxy:vpcCidr: expected a private \/16-\/22 block/);
        assert.doesNotMatch(bad.stdout, /=== stack/);
    });

    it("refuses proxies listening on a port NLB-1 does not (global listenerPorts=443, proxies on 80 and 443)", () => {
        const bad = plan("--stack", "china", "--set", "global/cross-region-proxy:listenerPorts=443");
        assert.equal(bad.status, 1, bad.stdout);
        assert.match(bad.stderr, /cross-region-proxy:proxyListenerPorts: 80 is not among NLB-1's listener ports \(443, output nlbListenerPorts of stack /);
        const subset = plan("--stack", "china", "--set", "global/cross-region-proxy:listenerPorts=443", "--set", "china/cross-region-proxy:proxyListenerPorts=443");
        assert.equal(subset.status, 0, subset.stderr);
    });
});
