// `npm run plan`, the main job offline, as a user runs it: a real process, both stacks, no cloud.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

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
        const secret = "NOT-A-REAL-KEY-5f1c";
        const result = plan("--json", json,
            "--set", "china/cross-region-proxy:cloudfrontEnabled=true",
            "--set", "china/cross-region-proxy:cloudfrontCertificateBody=-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "--set", `china/cross-region-proxy:cloudfrontPrivateKey=${secret}`);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /^OFFLINE PLAN/);
        assert.match(result.stdout, /=== stack global: \d+ resources/);
        assert.match(result.stdout, /=== stack china: \d+ resources/);
        const report = JSON.parse(fs.readFileSync(json, "utf8")) as {
            offline: boolean; stacks: Array<{ stack: string; outputs: Record<string, unknown>; resources: Array<{ type: string; parent?: string }> }>;
        };
        assert.equal(report.offline, true);
        const [global, china] = report.stacks;
        assert.deepEqual(report.stacks.map(s => s.stack), ["global", "china"]);
        assert.deepEqual(china.outputs.destinationIps, global.outputs.nlbPublicIps);
        for (const ip of global.outputs.nlbPublicIps as string[]) {
            assert.match(result.stdout, new RegExp(`# destinations: (\\S+ )*${ip.replace(/\./g, "\\.")}( |\\n)`), `the printed user-data forwards to ${ip}`);
        }
        assert.ok(china.resources.some(r => r.type === "aws:cloudfront/distribution:Distribution"));
        assert.ok(global.resources.some(r => r.type === "aws:lb/loadBalancer:LoadBalancer" && r.parent?.endsWith("::nlb1")));
        assert.ok(!result.stdout.includes(secret) && !fs.readFileSync(json, "utf8").includes(secret), "the private key never appears");
        assert.match(result.stdout, /privateKey: "\[secret\]"/);
    });

    it("plans one stack with --stack, and rejects a bad flag with a message", () => {
        const one = plan("--stack", "global");
        assert.equal(one.status, 0, one.stderr);
        assert.doesNotMatch(one.stdout, /=== stack china/);
        const bad = plan("--stack", "moon");
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /--stack: expected global or china, got 'moon'/);
    });

    it("fails before declaring anything when a stack file's value is invalid", () => {
        const bad = plan("--stack", "global", "--set", "global/cross-region-proxy:vpcCidr=10.300.0.0/16");
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /cross-region-proxy:vpcCidr: expected a private \/16-\/22 block/);
        assert.doesNotMatch(bad.stdout, /=== stack/);
    });
});
