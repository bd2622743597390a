// The health agent (proxy/agent.ts), pure: its bash is well formed, it writes only the destination
// chain, and for any healthy set its rules are exactly destinationRules of that set. The lab runs it for real.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { renderHealthAgent, UNHEALTHY_THRESHOLD } from "../proxy/agent";
import { CHAINS, destinationRules } from "../proxy/rules";
import { forwardingSpec } from "../proxy/spec";

const bash = (script: string) => spawnSync("bash", ["-c", script], { encoding: "utf8" });

/** The agent's `rules` function, run for a given healthy set. */
function rulesFor(agent: string, healthy: readonly string[]): string {
    const start = agent.indexOf("rules() {");
    const end = agent.indexOf("\n}\n", start) + 3;
    const table = /^probability=\(.*\)$/m.exec(agent);
    assert.ok(start > 0 && end > start && table, "the agent defines its probability table and rules()");
    const result = bash(`${table[0]}\n${agent.slice(start, end)}\nhealthy=(${healthy.join(" ")})\nrules`);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
}

const destinations = (n: number) => Array.from({ length: n }, (_, i) => `198.51.100.${i + 1}`);
const ALL_32 = destinations(32);

describe("the health agent", () => {
    for (const n of [1, 3, 32]) {
        it(`is valid bash for ${n} destination(s)`, () => {
            const result = spawnSync("bash", ["-n"], { input: renderHealthAgent(forwardingSpec({ destinations: destinations(n), ports: [80, 443] })), encoding: "utf8" });
            assert.equal(result.status, 0, result.stderr);
        });
    }

    it("prints the forwarding script's rules for every healthy prefix of 32 destinations", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: ALL_32, ports: [80] }));
        for (let n = 1; n <= 32; n++) {
            assert.equal(rulesFor(agent, ALL_32.slice(0, n)), `${destinationRules(ALL_32.slice(0, n)).join("\n")}\n`);
        }
    });

    it("carries exactly the spec's destinations and ports", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: ["203.0.113.10", "192.0.2.7"], ports: [443, 80] }));
        assert.match(agent, /^destinations=\(203\.0\.113\.10 192\.0\.2\.7\)$/m);
        assert.match(agent, /^ports=\(443 80\)$/m);
        assert.match(agent, new RegExp(`\\[ "\\$failures" -ge ${UNHEALTHY_THRESHOLD} \\]`));
    });

    it("rewrites the destination chain and nothing else", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: destinations(3), ports: [80] }));
        const document = agent.slice(agent.indexOf("<<CRPROXY_RULES\n") + 16, agent.indexOf("\nCRPROXY_RULES\n"));
        assert.equal(document, `*nat\n:${CHAINS.destinations} - [0:0]\n$(rules)\nCOMMIT`);
        assert.doesNotMatch(agent, /iptables[^\n]* -(A|I|D|F|X|N) /, "no other iptables change");
    });

    it("prints, for every size of healthy set, exactly the forwarding script's rules for that set", () => {
        fc.assert(fc.property(fc.integer({ min: 1, max: 32 }), fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }), (n, keep) => {
            const all = destinations(n);
            const healthy = all.filter((_, i) => keep[i]);
            if (healthy.length === 0) return;
            const agent = renderHealthAgent(forwardingSpec({ destinations: all, ports: [80, 443] }));
            assert.equal(rulesFor(agent, healthy), `${destinationRules(healthy).join("\n")}\n`);
        }), { numRuns: 40 });
    });
});
