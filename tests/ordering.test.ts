// Create, update and destroy order over the dependency graph the mocks record, for both stacks: what
// `pulumi up` creates first, `pulumi destroy` deletes last.
import * as assert from "node:assert/strict";
import { al2023AmiParameter } from "../components/IptablesProxyFleet";
import { controllerImageRepository } from "../components/AlbOnEks";
import { DeclaredResource, autoName } from "../offline/mocks";
import { OfflineRun, runStack } from "../offline/run";
import { one, ofType, strings, waitsFor } from "./stackHelpers";

const GLOBAL_OUTPUTS = { nlbPublicIps: ["203.0.113.10", "203.0.113.11"], nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] };
/** What grants a role its permissions: managed policy attachments and inline policies. */
const GRANTS = ["aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy"];

/** Whether a resource's inputs hold a reference to another (a remote component's Resource argument). */
function references(resource: DeclaredResource, target: DeclaredResource): boolean {
    const seen = new Set<unknown>();
    const walk = (value: unknown): boolean => {
        if (value === null || typeof value !== "object" || seen.has(value)) return false;
        seen.add(value);
        const ref = value as { __pulumiResource?: boolean; __pulumiType?: string; __name?: string };
        if (ref.__pulumiResource) return ref.__pulumiType === target.type && ref.__name === target.name;
        return Object.values(value).some(walk);
    };
    return walk(resource.inputs);
}

const runs: Array<[string, () => Promise<OfflineRun>]> = [
    ["global", () => runStack("global")],
    ["china", () => runStack("china", { stackOutputs: GLOBAL_OUTPUTS })],
];

for (const [stack, start] of runs) {
    describe(`${stack} stack ordering (mocked)`, () => {
        let run: OfflineRun;
        before(async () => { run = await start(); });

        it("makes every user of an IAM role wait for all of the role's policy attachments", () => {
            const roles = ofType(run.resources, "aws:iam/role:Role");
            assert.ok(roles.length > 0);
            for (const role of roles) {
                const attachments = run.resources.filter(a => GRANTS.includes(a.type) && a.dependencies.includes(role.urn));
                const users = run.resources.filter(r => !GRANTS.includes(r.type) && (r.dependencies.includes(role.urn) || references(r, role)));
                assert.ok(attachments.length > 0 && users.length > 0, `${role.name} has attachments and users`);
                for (const user of users) {
                    const before = waitsFor(run, user);
                    for (const attachment of attachments) {
                        assert.ok(before.has(attachment.urn), `${user.type} ${user.name} waits for ${attachment.name}`);
                    }
                }
            }
        });

        it("creates internet-facing load balancers and public instances after the internet gateway and routes (destroys them first)", () => {
            const gateway = one(run.resources, "aws:ec2/internetGateway:InternetGateway");
            // Internet-facing load balancers, and the Auto Scaling group that launches instances with public addresses.
            const users = run.resources.filter(r => (r.type === "aws:lb/loadBalancer:LoadBalancer" && r.inputs.internal === false)
                || r.type === "aws:autoscaling/group:Group");
            assert.ok(users.length > 0);
            for (const user of users) {
                const before = waitsFor(run, user);
                assert.ok(before.has(gateway.urn), `${user.type} ${user.name} waits for the internet gateway`);
                const associations = ofType(run.resources, "aws:ec2/routeTableAssociation:RouteTableAssociation")
                    .filter(a => a.name.includes("-public-"));
                assert.ok(associations.some(a => before.has(a.urn)), `${user.type} ${user.name} waits for a public route`);
            }
        });

        it("looks up no data source with a value of a resource the same run creates", () => {
            assert.ok(run.invokes.length > 0);
            const created = run.resources.flatMap(r => [`${r.name}-id`, autoName(r.name)]);
            for (const invoke of run.invokes) {
                const inputs = strings(invoke.inputs);
                assert.deepEqual(inputs.filter(s => s.includes(":mock:") || created.includes(s)), [], `${invoke.token} reads no created resource`);
            }
        });
    });
}

describe("global stack ordering (mocked): NLB-1 and the Load Balancer Controller", () => {
    let run: OfflineRun;
    before(async () => { run = await runStack("global"); });

    it("attaches the ALB to NLB-1 only after every ALB listener exists (and detaches it before they go)", () => {
        const listeners = ofType(run.resources, "aws:lb/listener:Listener").filter(l => l.parent?.includes("AlbOnEks"));
        assert.equal(listeners.length, 2);
        for (const attachment of ofType(run.resources, "aws:lb/targetGroupAttachment:TargetGroupAttachment")) {
            const before = waitsFor(run, attachment);
            for (const listener of listeners) assert.ok(before.has(listener.urn), `${attachment.name} waits for ${listener.name}`);
        }
    });

    it("turns off the controller's Service webhook, and binds the pods only once the controller is installed", () => {
        const chart = one(run.resources, "kubernetes:helm.sh/v4:Chart");
        assert.equal(chart.inputs.values.enableServiceMutatorWebhook, false);
        assert.equal(chart.inputs.values.image, undefined, "outside China, the chart's default registry");
        const binding = one(run.resources, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding");
        assert.ok(waitsFor(run, binding).has(chart.urn));
    });
});

describe("the controller's image registry", () => {
    it("is a China ECR registry in each China region, the chart's default elsewhere", async () => {
        assert.equal(controllerImageRepository("aws-cn", "cn-north-1"), "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/amazon/aws-load-balancer-controller");
        assert.equal(controllerImageRepository("aws-cn", "cn-northwest-1"), "961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn/amazon/aws-load-balancer-controller");
        assert.equal(controllerImageRepository("aws", "us-east-2"), undefined);
        const run = await runStack("global", { overrides: {
            "aws:region": "cn-northwest-1", "cross-region-proxy:httpbinImage": "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn/go-httpbin:v2.18.3",
        } });
        assert.equal(one(run.resources, "kubernetes:helm.sh/v4:Chart").inputs.values.image.repository, controllerImageRepository("aws-cn", "cn-northwest-1"));
    });
});

describe("the proxies' AMI (mocked)", () => {
    const SSM_LATEST = "ami-0123456789abcdef0";

    it("unpinned: read once from SSM, then kept (the launch template ignores later changes of imageId)", async () => {
        const run = await runStack("china", { stackOutputs: GLOBAL_OUTPUTS });
        const template = one(run.resources, "aws:ec2/launchTemplate:LaunchTemplate");
        assert.equal(template.inputs.imageId, SSM_LATEST);
        assert.deepEqual(template.ignoreChanges, ["imageId"]);
        assert.equal(run.outputs.proxyAmiId, SSM_LATEST, "the AMI to pin is an output");
    });

    it("pinned: exactly that AMI, no lookup, and a change of it is a change of the template", async () => {
        const pinned = "ami-0fedcba9876543210";
        const run = await runStack("china", { stackOutputs: GLOBAL_OUTPUTS, overrides: { "cross-region-proxy:proxyAmiId": pinned } });
        const template = one(run.resources, "aws:ec2/launchTemplate:LaunchTemplate");
        assert.equal(template.inputs.imageId, pinned);
        assert.deepEqual(template.ignoreChanges, []);
        assert.deepEqual(run.invokes.filter(i => i.token.startsWith("aws:ssm/")), []);
    });

    for (const [type, arch] of [["a1.large", "arm64"], ["c7g.large", "arm64"], ["m6gd.xlarge", "arm64"], ["c7gn.2xlarge", "arm64"],
        ["g5g.xlarge", "arm64"], ["c6i.large", "x86_64"], ["g5.xlarge", "x86_64"], ["m7a.large", "x86_64"]] as const) {
        it(`${type} runs the ${arch} AMI`, () => assert.ok(al2023AmiParameter(type).endsWith(`-${arch}`)));
    }
});
