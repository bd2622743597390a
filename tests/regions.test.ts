// Several regions behind one proxy (proxy/regions.ts): the split by weight x dial in exact arithmetic, failover by
// priority, fail open, the checks every renderer input passes, the bash that recomputes the rotation every pass
// (the agent's `weigh` and `probability`) held to the TypeScript, and the documented maximum within EC2's 16 KiB.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { InvalidValueError, MAX_DESTINATIONS, MAX_PORTS } from "../core/validate";
import { renderHealthAgent } from "../proxy/agent";
import { formatProbability, weightedCascade } from "../proxy/cascade";
import {
    effectiveDestinations,
    DIAL_LIMITS, MAX_REGION_NAME_LENGTH, MAX_REGIONS, PRIORITY_LIMITS, Region, RegionInput, WEIGHT_LIMITS, regionPercents, requireRegions, rotation, shareOf,
} from "../proxy/regions";
import { renderArtifact } from "../proxy/render";
import { destinationRules, renderRestoreDocument } from "../proxy/rules";
import { renderForwardingScript } from "../proxy/script";
import { ForwardingInput, forwardingSpec } from "../proxy/spec";
import { encodeUserData, renderUserData, USER_DATA_LIMIT_BYTES } from "../proxy/userData";
import { shellFunctions } from "./shell";

const bash = (script: string) => spawnSync("bash", ["--norc", "--noprofile", "-c", script], { encoding: "utf8" });

/** Exact share of each rule of a weighted cascade: prod_{j<i} (1 - p_j) * p_i, as [numerator, denominator]. */
function exactShares(weights: readonly number[]): Array<[bigint, bigint]> {
    const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
    let reaching: [bigint, bigint] = [1n, 1n];
    return weightedCascade(weights).map(p => {
        const [n, d] = [BigInt(p.numerator), BigInt(p.denominator)];
        const share: [bigint, bigint] = [reaching[0] * n, reaching[1] * d];
        reaching = [reaching[0] * (d - n), reaching[1] * d];
        const g = gcd(share[0], share[1]) || 1n;
        return [share[0] / g, share[1] / g];
    });
}

const ip = (region: number, host: number) => `203.0.${region}.${host + 10}`;
const region = (i: number, size: number, controls: Partial<Region> = {}): Region =>
    ({ name: `org/cross-region-proxy/global-${i}`, destinations: Array.from({ length: size }, (_, h) => ip(i, h)), weight: 100, dial: 100, priority: 1, ...controls });

describe("the weighted cascade", () => {
    it("gives each destination exactly its weight over the sum, for any whole-number weights", () => {
        fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 25500 * 60 }), { minLength: 1, maxLength: MAX_DESTINATIONS }), weights => {
            const total = BigInt(weights.reduce((s, w) => s + w, 0));
            exactShares(weights).forEach(([n, d], i) => assert.equal(n * total, BigInt(weights[i]) * d, `rule ${i}`));
        }), { numRuns: 300 });
    });

    it("is the even cascade for equal weights (1/N, 1/(N-1), ..., 1)", () => {
        for (let n = 1; n <= MAX_DESTINATIONS; n++) {
            assert.deepEqual(weightedCascade(Array.from({ length: n }, () => 7)).map(formatProbability),
                Array.from({ length: n }, (_, i) => (1 / (n - i)).toFixed(10)));
        }
    });

    it("prints each probability rounded half up to 10 decimals, as toFixed(10) does", () => {
        fc.assert(fc.property(fc.integer({ min: 1, max: 10 ** 9 }), fc.integer({ min: 0, max: 10 ** 9 }), (d, n) => {
            const numerator = n % (d + 1);
            assert.equal(formatProbability({ numerator, denominator: d }), (numerator / d).toFixed(10));
        }), { numRuns: 2000 });
        assert.equal(formatProbability({ numerator: 1, denominator: 8e9 }), "0.0000000001");
        assert.throws(() => formatProbability({ numerator: 3, denominator: 2 }), RangeError);
    });
});

describe("the rotation over regions", () => {
    it("splits new connections by weight x dial, evenly within a region (exactly)", () => {
        const regions = [region(0, 2, { weight: 200 }), region(1, 3, { weight: 55, dial: 50 })];
        const r = rotation(regions, regions.flatMap(x => x.destinations));
        assert.equal(r.failOpen, false);
        const weights = r.destinations.map(d => d.weight);
        const shares = exactShares(weights);
        const total = BigInt(shareOf(regions[0]) + shareOf(regions[1]));
        regions.forEach(reg => reg.destinations.forEach(d => {
            const [n, q] = shares[r.destinations.findIndex(x => x.destination === d)];
            assert.equal(n * total * BigInt(reg.destinations.length), BigInt(shareOf(reg)) * q, `${d}: share/${reg.destinations.length}`);
        }));
        assert.deepEqual(regionPercents(regions, r), [87, 12]);
    });

    it("moves a dark region's share to the others of its priority, by weight, and back", () => {
        const regions = [region(0, 2, { weight: 50 }), region(1, 2, { weight: 30 }), region(2, 1, { weight: 20 })];
        const healthy = [...regions[0].destinations, ...regions[2].destinations];
        const r = rotation(regions, healthy);
        assert.deepEqual(r.destinations.map(d => d.destination), healthy);
        assert.deepEqual(regionPercents(regions, r), [71, 0, 28], "50:20 of the remaining 70");
        assert.deepEqual(regionPercents(regions, rotation(regions, regions.flatMap(x => x.destinations))), [50, 30, 20]);
    });

    it("with priorities, sends everything to the lowest priority that has a healthy region, the next one when it is dark", () => {
        const regions = [region(0, 2, { priority: 1 }), region(1, 2, { priority: 2, weight: 10 }), region(2, 1, { priority: 2, weight: 30 })];
        const all = regions.flatMap(x => x.destinations);
        assert.deepEqual(regionPercents(regions, rotation(regions, all)), [100, 0, 0]);
        assert.deepEqual(regionPercents(regions, rotation(regions, [ip(0, 1), ip(1, 0), ip(2, 0)])), [100, 0, 0], "one destination is enough");
        assert.deepEqual(regionPercents(regions, rotation(regions, [ip(1, 0), ip(1, 1), ip(2, 0)])), [0, 25, 75]);
    });

    it("gives a drained region (dial 0) nothing while another answers, its weight's share when only drained ones do", () => {
        const regions = [region(0, 1, { dial: 0 }), region(1, 1), region(2, 1, { weight: 0 })];
        assert.deepEqual(rotation(regions, [ip(0, 0), ip(1, 0), ip(2, 0)]).destinations, [{ destination: ip(1, 0), weight: 1 }]);
        assert.deepEqual(rotation(regions, [ip(0, 0), ip(2, 0)]), { destinations: [{ destination: ip(0, 0), weight: 1 }], failOpen: false },
            "as Global Accelerator ignores the traffic dial when it fails over");
    });

    it("fails open to the configured split when no region with a weight answers", () => {
        const regions = [region(0, 2, { weight: 3 }), region(1, 1, { weight: 1 }), region(2, 1, { weight: 0 })];
        const configured = rotation(regions, regions.flatMap(x => x.destinations));
        assert.deepEqual(rotation(regions, []), { destinations: configured.destinations, failOpen: true });
        assert.deepEqual(rotation(regions, [ip(2, 0)]), { destinations: configured.destinations, failOpen: true }, "a weight-0 region takes nothing");
        assert.deepEqual(configured.destinations.map(d => d.weight), [3, 3, 2]);
    });

    it("keeps a single region's rules byte for byte: 1/N each", () => {
        const spec = forwardingSpec({ destinations: ["203.0.113.10", "203.0.113.11", "203.0.113.12"], ports: [80] });
        assert.deepEqual(rotation(spec.regions, spec.destinations).destinations.map(d => d.weight), [1, 1, 1]);
        assert.equal(renderRestoreDocument(spec), renderRestoreDocument(spec, destinationRules(spec.destinations)));
    });
});

describe("the agent's rotation in bash", () => {
    const arbitraryRegions = fc.integer({ min: 1, max: MAX_REGIONS }).chain(n => fc.tuple(
        fc.array(fc.integer({ min: 1, max: MAX_DESTINATIONS / MAX_REGIONS }), { minLength: n, maxLength: n }),
        fc.array(fc.record({
            weight: fc.oneof(fc.constant(0), fc.integer(WEIGHT_LIMITS)), dial: fc.oneof(fc.constant(0), fc.constant(100), fc.integer(DIAL_LIMITS)),
            priority: fc.integer({ min: PRIORITY_LIMITS.min, max: 3 }),
        }), { minLength: n, maxLength: n }),
    )).map(([sizes, controls]) => sizes.map((size, i) => region(i, size, controls[i])))
        .filter(regions => regions.some(r => shareOf(r) > 0));

    it("computes the same rotation and the same rules as the TypeScript, for any regions and healthy set", () => {
        fc.assert(fc.property(arbitraryRegions, fc.array(fc.boolean(), { minLength: 48, maxLength: 48 }), (regions, keep) => {
            const spec = forwardingSpec({ regions, ports: [80, 443] });
            const healthy = spec.destinations.filter((_, i) => keep[i]);
            const agent = renderHealthAgent(spec);
            const result = bash(`${shellFunctions(agent)}jump_repairs() { :; }
if weigh ${healthy.join(" ")}; then echo ok; else echo open; weigh ${spec.destinations.join(" ")}; fi
echo "\${rotation[*]}"; echo "\${region_taken[*]}"; document "\${rotation[@]}"`);
            assert.equal(result.status, 0, result.stderr);
            const [state, tokens, taken, ...document] = result.stdout.split("\n");
            const expected = rotation(spec.regions, healthy);
            assert.equal(state, expected.failOpen ? "open" : "ok");
            assert.equal(tokens, expected.destinations.map(d => `${d.destination}=${d.weight}`).join(" "));
            assert.deepEqual(taken.split(" ").map(Number), spec.regions.map(r => expected.destinations
                .filter(d => r.destinations.includes(d.destination)).reduce((s, d) => s + d.weight, 0)));
            assert.equal(document.join("\n"), renderRestoreDocument(spec, destinationRules(expected.destinations.map(d => d.destination),
                expected.destinations.map(d => d.weight)), () => [""]));
        }), { numRuns: 60 });
    });

    it("prints the same probability digits as formatProbability", () => {
        const agent = renderHealthAgent(forwardingSpec({ destinations: ["203.0.113.10"], ports: [80] }));
        const fractions = fc.sample(fc.tuple(fc.integer({ min: 2, max: 2 ** 40 }), fc.nat()).map(([d, n]) => [n % d, d] as const), 200);
        const result = bash(`${shellFunctions(agent)}for f in ${fractions.map(([n, d]) => `${n}/${d}`).join(" ")}; do probability "\${f%/*}" "\${f#*/}"; echo "$p"; done`);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(result.stdout.trim().split("\n"), fractions.map(([numerator, denominator]) => formatProbability({ numerator, denominator })));
    });

    it("the forwarding script installs the configured split: its document is renderRestoreDocument's", () => {
        const spec = forwardingSpec({ regions: [region(0, 2, { weight: 200 }), region(1, 3, { weight: 55, dial: 50 }), region(2, 1, { priority: 2 })], ports: [443] });
        const script = renderForwardingScript(spec);
        const result = bash(`${shellFunctions(script)}jump_repairs() { :; }\nweigh "\${destinations[@]}"\ndocument "\${rotation[@]}"`);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, renderRestoreDocument(spec, undefined, () => [""]));
        assert.doesNotMatch(result.stdout, /203\.0\.2\.10/, "the backup priority has no rule while the first answers");
        assert.match(script, /^# {5}region org\/cross-region-proxy\/global-0: 203\.0\.0\.10 203\.0\.0\.11; weight 200, dial 100 %, priority 1: 87 %$/m);
        assert.match(script, /^# {5}region org\/cross-region-proxy\/global-2: 203\.0\.2\.10; weight 100, dial 100 %, priority 2: 0 %$/m);
    });
});

describe("regions as renderer input", () => {
    const input = (regions: RegionInput[]): ForwardingInput => ({ regions, ports: [80] });
    const rejects = (regions: RegionInput[], key: string, gist: RegExp) => assert.throws(() => forwardingSpec(input(regions)),
        (err: unknown) => err instanceof InvalidValueError && err.key === key && gist.test(err.message), `${key} ${gist}`);

    it("fills the defaults: weight 100, dial 100 %, priority 1", () => {
        assert.deepEqual(forwardingSpec(input([{ name: "a", destinations: ["203.0.113.10"] }])).regions,
            [{ name: "a", destinations: ["203.0.113.10"], weight: 100, dial: 100, priority: 1 }]);
    });

    it("refuses bad regions, naming the region's field", () => {
        rejects([], "regions", /has 0 regions; 1 to 8 are supported/);
        rejects([{ name: "a", destinations: ["203.0.113.10"] }, { name: "a", destinations: ["203.0.113.11"] }], "regions[1].name", /region a is listed twice/);
        rejects([{ name: "a", destinations: ["203.0.113.10"] }, { name: "b", destinations: ["203.0.113.10"] }], "regions[1].destinations",
            /203\.0\.113\.10 is also a destination of region a: two regions cannot share an address/);
        rejects([{ name: "a", destinations: ["203.0.113.10;reboot"] }], "regions[0].destinations", /not an IPv4 address/);
        rejects([{ name: "a b", destinations: ["203.0.113.10"] }], "regions[0].name", /expected a region name/);
        rejects([{ name: "$(reboot)", destinations: ["203.0.113.10"] }], "regions[0].name", /expected a region name/);
        rejects([{ name: "a/b/c/d", destinations: ["203.0.113.10"] }], "regions[0].name", /up to three '\/'-separated parts/);
        rejects([{ name: "a".repeat(MAX_REGION_NAME_LENGTH + 1), destinations: ["203.0.113.10"] }], "regions[0].name", /at most 160 characters/);
        rejects([{ name: "a", destinations: ["203.0.113.10"], weight: 256 }], "regions[0].weight", /from 0 to 255/);
        rejects([{ name: "a", destinations: ["203.0.113.10"], dial: -1 }], "regions[0].dial", /from 0 to 100/);
        rejects([{ name: "a", destinations: ["203.0.113.10"], priority: 0 }], "regions[0].priority", /from 1 to 255/);
        rejects([{ name: "a", destinations: ["203.0.113.10"], weight: "1;reboot" }], "regions[0].weight", /whole number/);
        rejects([{ name: "a", destinations: ["203.0.113.10"], dial: 0 }, { name: "b", destinations: ["203.0.113.11"], weight: 0 }], "regions",
            /every region's weight x dial is 0 \(a: 100 x 0 %, b: 0 x 100 %\)/);
    });

    it(`renders the documented maximum (${MAX_REGIONS} regions, ${MAX_DESTINATIONS} destinations, ${MAX_PORTS} ports, names of ${MAX_REGION_NAME_LENGTH} characters) within EC2's 16 KiB`, () => {
        const name = (k: number) => `${"o".repeat(39)}/${"p".repeat(60)}/${"s".repeat(MAX_REGION_NAME_LENGTH - 102)}${k}`;
        const regions = Array.from({ length: MAX_REGIONS }, (_, k) => ({
            name: name(k), destinations: Array.from({ length: MAX_DESTINATIONS / MAX_REGIONS }, (_, h) => ip(k, h)), weight: 255 - k, dial: 100 - k, priority: 1 + (k % 3),
        }));
        assert.equal(regions[0].name.length, MAX_REGION_NAME_LENGTH);
        const spec = forwardingSpec({ regions, ports: Array.from({ length: MAX_PORTS }, (_, i) => 60000 + i), natPorts: { from: 10000, to: 65535 } });
        const size = encodeUserData(renderUserData(spec)).length;
        assert.ok(size <= USER_DATA_LIMIT_BYTES, `${size} bytes`);
        console.log(`      the documented maximum: ${size} bytes of user-data (gzipped), limit ${USER_DATA_LIMIT_BYTES}`);
        // One more region, or one more destination, is refused with the key and the limit, before anything renders.
        assert.throws(() => renderArtifact("user-data", { ...spec, regions: [...regions, { name: "extra", destinations: ["198.51.100.1"] }], destinations: undefined }),
            /regions: has 9 regions; 1 to 8 are supported/);
        assert.throws(() => renderArtifact("user-data", { ...spec, regions: [...regions.slice(1), { ...regions[0], destinations: [...regions[0].destinations, "198.51.100.1"] }], destinations: undefined }),
            /regions: has 33 destinations in all .*at most 32 are supported/);
    });
});

describe("regions through the renderer's other checks", () => {
    it("every valid multi-region input renders a script bash accepts and user-data within the limit (property)", () => {
        fc.assert(fc.property(fc.integer({ min: 2, max: MAX_REGIONS }), fc.integer({ min: 1, max: 4 }), fc.integer(WEIGHT_LIMITS), (n, size, weight) => {
            const regions = Array.from({ length: n }, (_, k) => region(k, size, { weight: k === 0 ? Math.max(weight, 1) : weight }));
            const spec = forwardingSpec({ regions, ports: [80, 443] });
            for (const program of [renderForwardingScript(spec), renderHealthAgent(spec)]) {
                const syntax = spawnSync("bash", ["-n"], { input: program, encoding: "utf8" });
                assert.equal(syntax.status, 0, syntax.stderr);
            }
            assert.ok(encodeUserData(renderUserData(spec)).length <= USER_DATA_LIMIT_BYTES);
        }), { numRuns: 15 });
    });

    it("checks the list as a whole (requireRegions) with the caller's keys", () => {
        assert.throws(() => requireRegions("cross-region-proxy:globalStacks", (i, f) => `cross-region-proxy:globalStacks[${i}].${f}`,
            [{ name: "a", destinations: ["203.0.113.10"], weight: 300 }]), /^InvalidValueError: cross-region-proxy:globalStacks\[0\]\.weight: expected a whole number from 0 to 255/);
    });
});

describe("effectiveDestinations", () => {
    const region = (name: string, n: number, weight: number, dial = 100, priority = 1) =>
        ({ name, destinations: Array.from({ length: n }, (_, i) => `203.0.${name === "a" ? 113 : 112}.${i + 1}`), weight, dial, priority });
    it("counts an even split as its destinations, and a weighted one by its heaviest address", () => {
        assert.equal(effectiveDestinations([region("a", 3, 100)]), 3);
        assert.equal(effectiveDestinations([region("a", 3, 100), region("b", 3, 100)]), 6);
        assert.equal(effectiveDestinations([region("a", 3, 200), region("b", 3, 55)]), 3, "200:55: the heaviest address takes 26 %");
        assert.equal(effectiveDestinations([region("a", 2, 100), region("b", 3, 100, 100, 2)]), 2, "the standby priority takes nothing");
    });
});
