// The lab's stand-ins rendered without root: NLB-2 spreads with the proxies' own cascade, NLB-1 maps each
// public address to one ALB node, and the ALB's nginx serves both domains. Read back by the shared parser.
import { strict as assert } from "node:assert";
import { renderAlbNginxConf } from "../lab/albNginx";
import { CN_DOMAIN, DOMAIN, HTTPBIN_PORT, LISTENER_PORTS, PUBLIC_ADDRESSES, VIP } from "../lab/constants";
import { NLB1_CHAIN, NLB2_CHAIN, renderNlb1Rules, renderNlb2Rules } from "../lab/standins";
import { cascade, formatProbability } from "../proxy/cascade";
import { parseIptablesSave, rulesOf } from "../proxy/iptablesSave";

describe("lab stand-ins (lab/standins.ts, lab/albNginx.ts)", () => {
    for (const n of [1, 2, 3, 8]) {
        it(`NLB-2 over ${n} proxies: the VIP's listener ports jump to its chain, DNAT with the cascade's probabilities`, () => {
            const targets = Array.from({ length: n }, (_, i) => ({ name: `proxy${i}`, address: `198.18.${10 + i}.2` }));
            const tables = parseIptablesSave(renderNlb2Rules(VIP, LISTENER_PORTS, targets));
            const [entry] = rulesOf(tables, "nat", "PREROUTING");
            assert.equal(entry.destination, `${VIP}/32`);
            assert.equal(entry.options.get("--dports"), LISTENER_PORTS.join(","));
            assert.equal(entry.jump, NLB2_CHAIN);
            const rules = rulesOf(tables, "nat", NLB2_CHAIN);
            assert.deepEqual(rules.map(r => r.toDestination), targets.map(t => t.address));
            assert.deepEqual(rules.map(r => r.comment), targets.map(t => `target ${t.name}`));
            assert.deepEqual(rules.map(r => r.probability), cascade(n).map((p, i) => (i < n - 1 ? formatProbability(p) : undefined)));
        });
    }

    it("NLB-1: each public address DNATs to the ALB node at the same index, nothing else", () => {
        const nodes = PUBLIC_ADDRESSES.map((_, j) => `198.18.30.${10 + j}`);
        const tables = parseIptablesSave(renderNlb1Rules(PUBLIC_ADDRESSES, nodes));
        assert.deepEqual(rulesOf(tables, "nat", "PREROUTING").map(r => [r.protocol, r.jump]), [["tcp", NLB1_CHAIN]]);
        const rules = rulesOf(tables, "nat", NLB1_CHAIN);
        assert.deepEqual(rules.map(r => [r.destination, r.jump, r.toDestination]), PUBLIC_ADDRESSES.map((a, j) => [`${a}/32`, "DNAT", nodes[j]]));
        assert.throws(() => renderNlb1Rules(PUBLIC_ADDRESSES, nodes.slice(1)), /an ALB node for each public address/);
    });

    it("the ALB's nginx: TLS for both domains with the run's certificate, httpbin behind, its paths only", () => {
        const conf = renderAlbNginxConf({ runId: "abc123", dir: "/tmp/crp-lab-abc123", accessLog: "/tmp/crp-lab-abc123/alb-access.log" });
        assert.match(conf, /^# ALB stand-in of lab abc123$/m);
        assert.ok(conf.includes(`server_name *.${DOMAIN} *.${CN_DOMAIN};`));
        assert.ok(conf.includes("ssl_certificate /tmp/crp-lab-abc123/pki/leaf.crt;"));
        assert.ok(conf.includes(`proxy_pass http://127.0.0.1:${HTTPBIN_PORT};`));
        assert.ok(conf.includes("access_log /tmp/crp-lab-abc123/alb-access.log alb;"));
        const paths = [...conf.matchAll(/ (\/[^\s;]+)/g)].map(m => m[1]).filter(p => !p.startsWith("/__lab") && p !== "/");
        assert.ok(paths.every(p => p.startsWith("/tmp/crp-lab-abc123/")), `paths outside the run's directory: ${paths}`);
    });
});
