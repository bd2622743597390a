// The lab from the viewer's side (npm run test:lab): a viewer's request through the edge stand-in
// (CloudFront's origin fetch, lab/edge.ts), NLB-2, the proxies and NLB-1 to the ALB stand-in generated
// from the declared ALB (lab/albStandIn.ts). Test-only variants of the declared resources show that
// the lab follows the program: a host rule without the china wildcard, a certificate without the
// china name. Root only; without root it explains and skips, with CI=true it fails instead.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DeclaredResource } from "../offline/mocks";
import { copyOf } from "./declared";
import { sleep } from "./exec";
import { conntrackEntries, dnatCounters } from "./netfilter";
import { NLB2_CHAIN } from "./standins";
import { CLIENT_ADDRESS, CN_DOMAIN, EDGE_ADDRESS, USER_HOST, VIP } from "./constants";
import { hostDifferences, HostSnapshot, hostSnapshot } from "./host";
import { createLab, Lab } from "./lab";
import { requireLabHost } from "./prerequisites";
import { edgeModel } from "./edge";


/** The HTTPS listener of the declared ALB, found by type and link (never by name). */
function httpsListener(resources: readonly DeclaredResource[]): DeclaredResource {
    const alb = resources.find(r => r.type === "aws:lb/loadBalancer:LoadBalancer" && r.inputs.loadBalancerType === "application");
    const listener = resources.find(r => r.type === "aws:lb/listener:Listener" && r.inputs.loadBalancerArn === alb?.outputs?.arn && r.inputs.protocol === "HTTPS");
    assert.ok(listener, "the program declares an HTTPS listener on its ALB");
    return listener;
}

/** The HTTPS listener's rules with a host condition naming a pattern. */
function hostRulesNaming(resources: readonly DeclaredResource[], pattern: string): DeclaredResource[] {
    const listener = httpsListener(resources);
    return resources.filter(r => r.type === "aws:lb/listenerRule:ListenerRule" && r.inputs.listenerArn === listener.outputs?.arn &&
        (r.inputs.conditions as any[]).some(c => c.hostHeader?.values.includes(pattern)));
}

/** The ACM certificate the HTTPS listener serves (default or by SNI) for a domain name. */
function listenerCertificateFor(resources: readonly DeclaredResource[], domainName: string): DeclaredResource {
    const listener = httpsListener(resources);
    const arns = [listener.inputs.certificateArn, ...resources
        .filter(r => r.type === "aws:lb/listenerCertificate:ListenerCertificate" && r.inputs.listenerArn === listener.outputs?.arn)
        .map(r => r.inputs.certificateArn)];
    const cert = resources.find(r => r.type === "aws:acm/certificate:Certificate" && arns.includes(r.outputs?.arn) && r.inputs.domainName === domainName);
    assert.ok(cert, `the HTTPS listener serves a declared certificate for ${domainName}`);
    return cert;
}

describe("edge lab: from the viewer through the CloudFront stand-in (network namespaces, root)", function () {
    let lab: Lab | undefined;
    let hostBefore: HostSnapshot;
    const L = () => {
        if (!lab) throw new Error("lab not up");
        return lab;
    };
    const viewer = (url: string, extra: readonly string[] = []) => L().userCurl(url, extra, EDGE_ADDRESS);
    const edgeHost = () => L().state.edgeHost;
    /** New connections NLB-2 has DNATed so far (its nat rules see only the first packet of each). */
    const nlb2NewConnections = () => [...dnatCounters(L().state.ns.nlb2, NLB2_CHAIN).values()].reduce((a, b) => a + b, 0);
    const edgeErrors = () => fs.readFileSync(path.join(L().state.dir, "edge-nginx-error.log"), "utf8");

    before(function () {
        requireLabHost(this, "edge lab", "the edge lab needs root (network namespaces, netfilter): sudo env PATH=\"$PATH\" npm run test:lab");
        hostBefore = hostSnapshot();
        lab = createLab({ proxies: 2 });
        lab.applyToAllProxies(lab.state.publicAddresses.slice(0, 3));
    });

    after(function () {
        if (!lab) return;
        lab.destroy();
        assert.deepEqual(hostDifferences(hostBefore, hostSnapshot(), lab.state.prefix), [], "the host must look as before the suite");
    });

    afterEach(function () {
        // Every test leaves the ALB stand-in as the program declares it.
        if (lab && this.currentTest?.title.includes("variant")) lab.reconfigureAlb(lab.declared().global);
    });

    it("the edge serves the distribution's alias and fetches from its origin name", function () {
        const model = edgeModel(L().declared().china);
        assert.equal(edgeHost(), `abc.${CN_DOMAIN}`);
        assert.equal(model.originDomain, USER_HOST, "CloudFront's origin is the name NLB-2 answers for");
        const conf = fs.readFileSync(path.join(L().state.dir, "edge-nginx.conf"), "utf8");
        for (const line of [`proxy_ssl_name ${USER_HOST};`, "proxy_ssl_server_name on;", "proxy_ssl_verify on;", "proxy_ssl_protocols TLSv1.2;",
            "keepalive_timeout 5s;", "proxy_read_timeout 30s;", "proxy_set_header Host $http_host;", `server ${VIP}:443;`]) {
            assert.ok(conf.includes(line), `edge configuration has '${line}'`);
        }
    });

    it("a viewer request through the edge reaches httpbin with the viewer's Host, query string and forwarded-for chain", function () {
        const marker = `edge-${Date.now()}`;
        // show_env: httpbin hides X-Forwarded-For from its echo unless asked.
        const r = viewer(`https://${edgeHost()}/anything/${marker}?q=1&r=two&show_env=1`);
        assert.equal(r.status, 0, r.stderr);
        const body = JSON.parse(r.stdout) as { headers: Record<string, string>; args: Record<string, string>; origin: string };
        assert.equal(body.headers.Host, edgeHost(), "CloudFront forwards the viewer's Host (all headers forwarded)");
        assert.deepEqual(body.args, { q: "1", r: "two", show_env: "1" });
        // X-Forwarded-For: the viewer (added by the edge, as CloudFront does), then the ALB's TCP peer, a proxy.
        const chain = body.headers["X-Forwarded-For"].split(/,\s*/);
        const proxies = L().state.proxies.map(p => p.outAddress);
        assert.equal(chain.length, 2, body.headers["X-Forwarded-For"]);
        assert.equal(chain[0], CLIENT_ADDRESS, "the viewer's address first");
        assert.ok(proxies.includes(chain[1]), `then a proxy (${proxies.join(", ")}), got ${chain[1]}`);
        // The ALB saw SNI test.<cn> (the origin name) and Host abc.<cn>.
        const alb = fs.readFileSync(L().state.albAccessLog, "utf8").split("\n").filter(l => l.includes(marker)).map(l => JSON.parse(l));
        assert.equal(alb.length, 1);
        assert.equal(alb[0].sni, USER_HOST);
        assert.equal(alb[0].host, edgeHost());
        // test.<cn> directly still works.
        const direct = L().userCurl(`https://${USER_HOST}/ip`);
        assert.equal(direct.status, 0, direct.stderr);
        assert.ok(proxies.includes((JSON.parse(direct.stdout) as { origin: string }).origin));
    });

    it("the edge keeps origin connections alive for originKeepaliveTimeout (5 s) and no longer", function () {
        const model = edgeModel(L().declared().china);
        sleep((model.originKeepaliveTimeout + 1) * 1000); // whatever earlier tests left idle is closed now
        const before = nlb2NewConnections();
        for (let i = 0; i < 5; i++) assert.equal(viewer(`https://${edgeHost()}/status/204`).status, 0);
        assert.equal(nlb2NewConnections() - before, 1, "five viewer connections, one origin connection");
        sleep((model.originKeepaliveTimeout - 2) * 1000);
        assert.equal(viewer(`https://${edgeHost()}/status/204`).status, 0);
        assert.equal(nlb2NewConnections() - before, 1, "reused before the keep-alive timeout");
        sleep((model.originKeepaliveTimeout + 1.5) * 1000);
        assert.equal(viewer(`https://${edgeHost()}/status/204`).status, 0);
        assert.equal(nlb2NewConnections() - before, 2, "a new origin connection after the keep-alive timeout");
    });

    it("HTTP is never used to the origin (https-only): a viewer on HTTP is redirected, the edge never connects to port 80", function () {
        const r = viewer(`http://${edgeHost()}/ip?x=1`, ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"]);
        assert.equal(r.stdout, `301 https://${edgeHost()}/ip?x=1`);
        assert.equal(viewer(`https://${edgeHost()}/ip`).status, 0);
        const fromEdge = conntrackEntries(L().state.ns.nlb2).filter(e => e.origSrc === EDGE_ADDRESS);
        assert.ok(fromEdge.length > 0, "NLB-2 saw the edge's connections");
        assert.deepEqual([...new Set(fromEdge.map(e => `${e.origDst}:${e.origDport}`))], [`${VIP}:443`], "only HTTPS to NLB-2");
    });

    it("variant: a host rule without the china wildcard sends the edge's request to the ALB's default action (404 unknown host)", function () {
        const resources = copyOf(L().declared().global);
        const pattern = `*.${CN_DOMAIN}`;
        const rules = hostRulesNaming(resources, pattern);
        assert.ok(rules.length > 0, `the program declares a host rule for ${pattern}`);
        for (const rule of rules) {
            for (const c of rule.inputs.conditions) if (c.hostHeader) c.hostHeader.values = c.hostHeader.values.filter((v: string) => v !== pattern);
        }
        L().reconfigureAlb(resources);
        const r = viewer(`https://${edgeHost()}/ip`, ["-w", " %{http_code}"]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "unknown host 404", "the edge passes on the ALB's default action");
        // The health-check path rule still matches whatever the host.
        assert.equal(viewer(`https://${edgeHost()}/status/200`, ["-o", "/dev/null", "-w", "%{http_code}"]).stdout, "200");
    });

    it("variant: an ALB certificate that does not cover test.<cnDomain> fails the edge's origin TLS check (502)", function () {
        const resources = copyOf(L().declared().global);
        listenerCertificateFor(resources, `*.${CN_DOMAIN}`).inputs.domainName = "*.poc1011.example.com";
        L().reconfigureAlb(resources);
        const errorsBefore = edgeErrors().length;
        const r = viewer(`https://${edgeHost()}/ip`, ["-o", "/dev/null", "-w", "%{http_code}"]);
        assert.equal(r.stdout, "502", r.stderr);
        assert.match(edgeErrors().slice(errorsBefore), /upstream SSL certificate does not match "test\.poc1010\.example\.com"/);
    });
});
