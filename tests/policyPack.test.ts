// The policy pack as the Pulumi CLI runs it: @pulumi/pulumi's run-policy-pack starts policy/ (TypeScript,
// its own package.json) as a gRPC analyzer, and the engine's Analyze and GetAnalyzerInfo calls reach it.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { AnalyzeRequest, AnalyzeResponse, AnalyzerInfo, AnalyzerProviderResource, AnalyzerResourceOptions } from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { policies } from "../policy/policies";

const ROOT = path.join(__dirname, "..");

/** Starts the pack the way the CLI's pulumi-analyzer-policy does; resolves with the port it prints. */
function startPack(): Promise<{ child: ChildProcess; port: number }> {
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
    const child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
        let output = "";
        const read = (chunk: Buffer) => {
            output += chunk;
            const port = /^(\d+)\s*$/m.exec(output);
            if (port) resolve({ child, port: Number(port[1]) });
        };
        child.stdout!.on("data", read);
        child.stderr!.on("data", (chunk: Buffer) => { output += chunk; });
        child.on("exit", code => reject(new Error(`the policy pack exited (${code}) before serving: ${output}`)));
    });
}

function analyze(client: AnalyzerClient, type: string, props: Record<string, unknown>, region: string): Promise<AnalyzeResponse> {
    const request = new AnalyzeRequest();
    request.setType(type);
    request.setName("r");
    request.setUrn(`urn:pulumi:test::cross-region-proxy::${type}::r`);
    request.setProperties(Struct.fromJavaScript(props as never));
    request.setOptions(new AnalyzerResourceOptions());
    const provider = new AnalyzerProviderResource();
    provider.setType("pulumi:providers:aws");
    provider.setName("default");
    provider.setUrn("urn:pulumi:test::cross-region-proxy::pulumi:providers:aws::default");
    provider.setProperties(Struct.fromJavaScript({ region }));
    request.setProvider(provider);
    return new Promise((resolve, reject) => client.analyze(request, (error, response) => error ? reject(error) : resolve(response!)));
}

describe("policy pack under the CLI's runner (gRPC analyzer)", function () {
    this.timeout(120000);
    let child: ChildProcess | undefined;
    let client: AnalyzerClient;

    before(async () => {
        const started = await startPack();
        child = started.child;
        client = new AnalyzerClient(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        child?.kill();
    });

    it("serves every policy of policies.ts, each mandatory", async () => {
        const info = await new Promise<AnalyzerInfo>((resolve, reject) =>
            client.getAnalyzerInfo(new Empty(), (error, response) => error ? reject(error) : resolve(response!)));
        assert.equal(info.getName(), "cross-region-proxy");
        assert.deepEqual(info.getPoliciesList().map(p => p.getName()).sort(), policies.map(p => p.name).sort());
        assert.ok(info.getPoliciesList().every(p => p.getEnforcementlevel() === 1), "every policy is mandatory");
    });

    it("reports an IMDSv1 launch template and an arn:aws: ARN in aws-cn, and passes a good one", async () => {
        const bad = await analyze(client, "aws:ec2/launchTemplate:LaunchTemplate",
            { metadataOptions: { httpTokens: "optional" }, iamInstanceProfile: { arn: "arn:aws:iam::123456789012:instance-profile/p" } }, "cn-northwest-1");
        assert.deepEqual(bad.getDiagnosticsList().map(d => d.getPolicyname()).sort(), ["ec2-imdsv2-required", "partition-arns"]);
        const good = await analyze(client, "aws:ec2/launchTemplate:LaunchTemplate",
            { metadataOptions: { httpTokens: "required" }, iamInstanceProfile: { arn: "arn:aws-cn:iam::123456789012:instance-profile/p" } }, "cn-northwest-1");
        assert.deepEqual(good.getDiagnosticsList().map(d => d.getPolicyname()), []);
    });

    it("requires deletion protection when no config is given (the schema's default)", async () => {
        const response = await analyze(client, "aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "network" }, "us-east-2");
        assert.deepEqual(response.getDiagnosticsList().map(d => d.getPolicyname()), ["lb-deletion-protection"]);
    });
});
