// The lab's stand-in generators, without root: the ALB stand-in from the declared ALB (lab/albStandIn.ts)
// and the edge stand-in from the declared CloudFront distribution (lab/edge.ts), fed by the real program
// under the offline mocks and by hand-made declarations for what the program does not declare.
import * as assert from "node:assert/strict";
import { ALL_VIEWER_POLICY_ID } from "../components/CloudfrontEdge";
import { DeclaredResource } from "../offline/mocks";
import { runStack } from "../offline/run";
import { albModel, albNginxServers, AlbModel, evaluate, hostRegex, ruleRegex } from "../lab/albStandIn";
import { LAB_CHINA_OVERRIDES } from "../lab/declared";
import { edgeModel, edgeNginxConf } from "../lab/edge";

const NLB1 = ["203.0.113.9", "203.0.113.100"];
const CERT = "arn:aws:acm:us-east-2:123456789012:certificate/c1";
const TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/httpbin";
const notFound = { type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "unknown host" } };
const forward = { type: "forward", targetGroupArn: TG };

const res = (type: string, name: string, inputs: Record<string, any>, arn?: string): DeclaredResource =>
    ({ urn: `urn:${name}`, type, name, custom: true, dependencies: [], propertyDependencies: {}, ignoreChanges: [], inputs, outputs: { ...inputs, arn: arn ?? `arn:${name}` } });

/** One ALB with an HTTPS listener (certificate for *.example.com), these rules and default action. */
function declaredAlb(rules: Array<{ priority: number; conditions: any[]; actions: any[] }>, defaultAction: any = notFound): DeclaredResource[] {
    return [
        res("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application" }),
        res("aws:lb/loadBalancer:LoadBalancer", "nlb", { loadBalancerType: "network" }),
        res("aws:lb/targetGroup:TargetGroup", "tg", { protocol: "HTTP", port: 8080 }, TG),
        res("aws:acm/certificate:Certificate", "cert", { domainName: "*.example.com" }, CERT),
        res("aws:lb/listener:Listener", "https", { loadBalancerArn: "arn:alb", port: 443, protocol: "HTTPS", certificateArn: CERT, defaultActions: [defaultAction] }),
        // A listener of another load balancer: not the ALB's.
        res("aws:lb/listener:Listener", "nlb-443", { loadBalancerArn: "arn:nlb", port: 443, protocol: "TCP", defaultActions: [forward] }),
        ...rules.map((r, i) => res("aws:lb/listenerRule:ListenerRule", `rule${i}`, { listenerArn: "arn:https", ...r })),
    ];
}

const hosts = (...values: string[]) => ({ hostHeader: { values } });
const paths = (...values: string[]) => ({ pathPattern: { values } });

describe("ALB stand-in generator (lab/albStandIn.ts)", () => {
    describe("from the ALB the global stack declares", () => {
        let model: AlbModel;
        before(async () => {
            model = albModel((await runStack("global")).resources);
        });

        it("has the declared listeners, certificates' names and rules by priority", () => {
            assert.deepEqual(model.listeners.map(l => `${l.protocol}:${l.port}`).sort(), ["HTTP:80", "HTTPS:443"]);
            const https = model.listeners.find(l => l.protocol === "HTTPS")!;
            assert.deepEqual(https.certificates.map(c => c.names), [["*.poc1009.example.com"], ["*.poc1010.example.com"]], "default first, then by SNI");
            assert.deepEqual(https.sslProtocols, ["TLSv1.2", "TLSv1.3"]);
            assert.deepEqual(https.rules.map(r => r.priority), [10, 20]);
            assert.deepEqual(https.defaultAction, { type: "fixed-response", statusCode: 404, contentType: "text/plain", body: "unknown host" });
            assert.equal(model.idleTimeout, 60, "the ALB's default idle timeout: the program sets none");
        });

        it("routes CloudFront's Host abc.<cnDomain> to httpbin, the health path whatever the host, anything else to the 404", () => {
            const https = model.listeners.find(l => l.protocol === "HTTPS")!;
            const http = model.listeners.find(l => l.protocol === "HTTP")!;
            assert.equal(evaluate(https, "abc.poc1010.example.com", "/headers?x=1").action.type, "forward");
            assert.equal(evaluate(https, "test.poc1009.example.com", "/ip").priority, 20);
            assert.equal(evaluate(https, "203.0.113.9", "/status/200").priority, 10, "NLB-1's health check");
            assert.equal(evaluate(https, "poc1010.example.com", "/ip").action.type, "fixed-response");
            assert.deepEqual(evaluate(http, "abc.poc1010.example.com", "/ip").action, { type: "redirect", protocol: "HTTPS", port: 443, statusCode: 301 });
        });

        it("fails loudly when the china certificate is not declared (cnCertificateArn): its names are unknown", async () => {
            const run = await runStack("global", { overrides: { "cross-region-proxy:cnCertificateArn": "arn:aws:acm:us-east-2:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab" } });
            assert.throws(() => albModel(run.resources), /certificate\/0123abcd-0123-4567-89ab-0123456789ab, which the program does not declare \(cross-region-proxy:cnCertificateArn\?\)/);
        });
    });

    it("host conditions have ALB wildcard semantics: * any run of characters, ? one, case-insensitive, whole name", () => {
        const l = albModel(declaredAlb([{ priority: 1, conditions: [hosts("*.example.com", "api?.Example.org")], actions: [forward] }])).listeners[0];
        const matches = (host: string) => evaluate(l, host, "/").priority === 1;
        for (const host of ["a.example.com", "a.b.c.example.com", "ABC.EXAMPLE.COM", "-.example.com", "api1.example.org", "API2.example.org"]) {
            assert.ok(matches(host), `${host} matches`);
        }
        for (const host of ["example.com", "aexample.com", "a.example.com.evil", "api.example.org", "api12.example.org", "a.example.co"]) {
            assert.ok(!matches(host), `${host} does not match`);
        }
        assert.throws(() => hostRegex("a b.example.com"), /host pattern characters/);
    });

    it("path conditions are case-sensitive, on the path only (the query string is ignored)", () => {
        const l = albModel(declaredAlb([{ priority: 5, conditions: [paths("/status/*")], actions: [forward] }])).listeners[0];
        assert.equal(evaluate(l, "x.example.com", "/status/200?a=/b").priority, 5);
        assert.equal(evaluate(l, "x.example.com", "/Status/200").priority, undefined);
        assert.equal(evaluate(l, "x.example.com", "/ip?next=/status/1").priority, undefined, "a path in the query does not match");
    });

    it("evaluates rules by priority whatever the order they are declared in; the nginx map lists them in that order", () => {
        const declared = declaredAlb([
            { priority: 30, conditions: [hosts("*.example.com")], actions: [forward] },
            { priority: 7, conditions: [hosts("admin.example.com")], actions: [notFound] },
            { priority: 12, conditions: [hosts("*.example.com"), paths("/old/*")], actions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "8443", statusCode: "HTTP_302" } }] },
        ]);
        const model = albModel(declared);
        const l = model.listeners[0];
        assert.deepEqual(l.rules.map(r => r.priority), [7, 12, 30]);
        assert.equal(evaluate(l, "admin.example.com", "/old/x").priority, 7);
        assert.equal(evaluate(l, "www.example.com", "/old/x").priority, 12);
        assert.equal(evaluate(l, "www.example.com", "/new").priority, 30);
        const conf = albNginxServers({ model, files: () => ({ cert: "/c.crt", key: "/c.key" }), upstream: "127.0.0.1:8000", labLocations: "" });
        const mapped = [...conf.matchAll(/^ {4}"~(.*)" (p\d+);$/gm)].map(m => ({ regex: m[1].replace(/\\\\/g, "\\"), id: m[2] }));
        assert.deepEqual(mapped.map(m => m.id), ["p7", "p12", "p30"], "nginx tests map regexes in the order written");
        // The regexes nginx gets are the ones the model evaluates with: the first that matches is the rule.
        for (const [host, uri] of [["admin.example.com", "/old/x"], ["www.example.com", "/old/x?q"], ["a.b.example.com", "/"], ["example.org", "/"]]) {
            const first = mapped.find(m => new RegExp(m.regex).test(`${host} ${uri}`))?.id;
            const expected = evaluate(l, host, uri).priority;
            assert.equal(first, expected === undefined ? undefined : `p${expected}`, `${host} ${uri}`);
        }
        assert.match(conf, /location = \/__alb\/p12 \{\n\s+internal;\n\s+return 302 https:\/\/\$host:8443\$request_uri;/);
        assert.match(conf, /location = \/__alb\/default \{\n\s+internal;\n\s+default_type "text\/plain";\n\s+return 404 "unknown host";/);
        assert.equal(ruleRegex({}), "^[^ ]* [^? ]*(?:\\?.*)?$", "no condition: any request");
    });

    it("fails loudly, naming it, on a rule, condition or action the stand-in cannot express", () => {
        const cases: Array<[DeclaredResource[], RegExp]> = [
            [declaredAlb([{ priority: 1, conditions: [{ httpHeader: { httpHeaderName: "X-A", values: ["1"] } }], actions: [forward] }]),
                /cannot express listener 443 rule 1 condition \(only hostHeader or pathPattern values\): \{"httpHeader"/],
            [declaredAlb([{ priority: 1, conditions: [{ sourceIp: { values: ["10.0.0.0/8"] } }], actions: [forward] }]), /rule 1 condition .*sourceIp/],
            [declaredAlb([{ priority: 1, conditions: [hosts("a.example.com")], actions: [{ type: "authenticate-oidc", authenticateOidc: {} }, forward] }]),
                /rule 1 actions \(exactly one\)/],
            [declaredAlb([{ priority: 1, conditions: [hosts("a.example.com")], actions: [{ type: "authenticate-cognito" }] }]), /rule 1 action type: \{"type":"authenticate-cognito"\}/],
            [declaredAlb([{ priority: 1, conditions: [hosts("a.example.com")], actions: [{ type: "redirect", redirect: { host: "elsewhere.example.com", statusCode: "HTTP_301" } }] }]),
                /rule 1 redirect host: "elsewhere.example.com"/],
            [declaredAlb([{ priority: 1, conditions: [hosts("a.example.com")], actions: [{ type: "forward", targetGroupArn: "arn:other" }] }]),
                /forward to a target group that is not a declared HTTP target group/],
            [declaredAlb([], { type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "503", messageBody: "costs $5" } }),
                /default action fixed-response body with \$/],
            [declaredAlb([{ priority: 2, conditions: [hosts("a.example.com")], actions: [forward] }, { priority: 2, conditions: [hosts("b.example.com")], actions: [forward] }]),
                /rule priorities must be distinct/],
        ];
        for (const [declared, message] of cases) assert.throws(() => albModel(declared), message);
        assert.throws(() => albModel(declaredAlb([]).filter(r => r.name !== "alb")), /expected one application load balancer, found 0/);
    });
});

describe("edge stand-in generator (lab/edge.ts)", () => {
    it("takes the china stack's distribution as the lab runs it (aws-cn, forwardedValues)", async () => {
        const run = await runStack("china", { overrides: LAB_CHINA_OVERRIDES, stackOutputs: { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] } });
        const model = edgeModel(run.resources);
        assert.deepEqual(model, {
            alias: "abc.poc1010.example.com", originDomain: "test.poc1010.example.com", originHttpsPort: 443,
            originSslProtocols: ["TLSv1.2"], viewerSslProtocols: ["TLSv1.2", "TLSv1.3"], viewerProtocolPolicy: "redirect-to-https",
            forwardHost: true, forwardQueryString: true, originReadTimeout: 30, originKeepaliveTimeout: 5, connectionTimeout: 10,
        });
        const conf = edgeNginxConf({ model, dir: "/lab", listenAddress: "198.18.0.2", originAddress: "198.18.1.1",
            viewerCert: "/v.crt", viewerKey: "/v.key", caCert: "/ca.crt", accessLog: "/edge.log" });
        for (const line of ["server 198.18.1.1:443;", "keepalive_timeout 5s;", "proxy_ssl_name test.poc1010.example.com;", "proxy_ssl_verify on;",
            "proxy_ssl_protocols TLSv1.2;", "proxy_read_timeout 30s;", "proxy_connect_timeout 10s;", "proxy_set_header Host $http_host;",
            "location / { proxy_pass https://origin; }", "location / { return 301 https://$host$request_uri; }"]) {
            assert.ok(conf.includes(line), line);
        }
        assert.doesNotMatch(conf, /:80;\n\s+keepalive/, "no upstream on the origin's HTTP port");
    });

    it("reads the AllViewer origin request policy in a global region as forwarding Host and query string", async () => {
        const run = await runStack("china", {
            overrides: { "aws:region": "us-east-1", "cross-region-proxy:cloudfrontEnabled": "true",
                "cross-region-proxy:cloudfrontAcmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab" },
            stackOutputs: { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] },
        });
        const distribution = run.resources.find(r => r.type === "aws:cloudfront/distribution:Distribution")!;
        assert.equal(distribution.inputs.defaultCacheBehavior.originRequestPolicyId, ALL_VIEWER_POLICY_ID);
        const model = edgeModel(run.resources);
        assert.equal(model.forwardHost, true);
        assert.equal(model.forwardQueryString, true);
        distribution.inputs.defaultCacheBehavior.originRequestPolicyId = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
        assert.throws(() => edgeModel(run.resources), /cannot express origin request policy/);
    });

    it("fails loudly on origin settings it cannot express, and without a distribution", async () => {
        const run = await runStack("china", { overrides: LAB_CHINA_OVERRIDES, stackOutputs: { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] } });
        const distribution = run.resources.find(r => r.type === "aws:cloudfront/distribution:Distribution")!;
        distribution.inputs.origins[0].customOriginConfig.originProtocolPolicy = "match-viewer";
        assert.throws(() => edgeModel(run.resources), /cannot express origin protocol policy: "match-viewer"/);
        assert.throws(() => edgeModel(run.resources.filter(r => r !== distribution)), /found 0 \(is cloudfrontEnabled true\?\)/);
    });
});
