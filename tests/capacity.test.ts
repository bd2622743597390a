// The sizing helper (scripts/capacity.ts): pure, no root, no network.
import * as assert from "node:assert/strict";
import {
    CapacityInputError, DEFAULT_CONNTRACK_MAX, DEFAULT_NAT_PORT_RANGE, formatPlan, main, NAT_USABLE_FRACTION,
    planCapacity, portSearchFailure, sustainedNewPerSecond, TIME_WAIT_SECONDS,
} from "../scripts/capacity";

function cli(argv: string[]): { code: number; out: string; err: string } {
    let out = "";
    let err = "";
    const code = main(argv, s => { out += s; }, s => { err += s; });
    return { code, out, err };
}

describe("capacity planning (scripts/capacity.ts)", () => {
    it("sizes the issue's example: 500,000 connections over 3 destinations need 3 proxies, NAT ports bind first", () => {
        const plan = planCapacity({ connections: 500_000, destinations: 3 });
        assert.equal(plan.natTuplesPerProxy, 64_512 * 3);
        assert.equal(plan.natUsablePerProxy, Math.floor(193_536 * NAT_USABLE_FRACTION));
        assert.equal(plan.conntrackPerProxy, DEFAULT_CONNTRACK_MAX);
        assert.deepEqual(plan.binding, ["nat-ports"]);
        assert.equal(plan.proxies, 3);
        assert.equal(plan.decidedBy, "load");
        assert.equal(plan.proxiesWithOneLost, 4);
        assert.ok(plan.natUtilization > 0.86 && plan.natUtilization < 0.862);
    });

    it("uses the defaults the user-data applies (conntrack 262,144, NAT range 1024-65535)", () => {
        const plan = planCapacity({ connections: 1, destinations: 1 });
        assert.equal(plan.input.conntrackMax, 262_144);
        assert.equal(plan.input.natPortRange, DEFAULT_NAT_PORT_RANGE);
        assert.equal(DEFAULT_NAT_PORT_RANGE, 65_535 - 1_024 + 1);
        assert.equal(plan.input.proxiesMin, 2);
        assert.equal(plan.input.portsPerDestination, 1);
    });

    it("lets conntrack bind first when enough destination tuples exist", () => {
        const plan = planCapacity({ connections: 500_000, destinations: 3, portsPerDestination: 2 });
        assert.equal(plan.natTuplesPerProxy, 387_072);
        assert.deepEqual(plan.binding, ["conntrack"]);
        assert.equal(plan.perProxy, 262_144);
        assert.equal(plan.proxies, 2);
    });

    it("reports both limits when they are equal", () => {
        // 128 ports (searched whole, so all usable) x 8 destinations = 1,024 tuples = the conntrack floor.
        const plan = planCapacity({ connections: 5_000, destinations: 8, natPortRange: 128, conntrackMax: 1024 });
        assert.deepEqual(plan.binding, ["nat-ports", "conntrack"]);
        assert.equal(plan.proxies, 5);
    });

    it("never plans fewer proxies than the availability minimum", () => {
        const plan = planCapacity({ connections: 10, destinations: 2, proxiesMin: 3 });
        assert.equal(plan.proxiesForLoad, 1);
        assert.equal(plan.proxies, 3);
        assert.equal(plan.decidedBy, "proxies-min");
        assert.equal(plan.proxiesWithOneLost, 3);
    });

    it("counts TIME_WAIT entries (new connections per second x the proxy's 70 s) in the load", () => {
        const plan = planCapacity({ connections: 100_000, destinations: 3, newPerSecond: 2_000 });
        assert.equal(TIME_WAIT_SECONDS, 70);
        assert.equal(plan.timeWait, 140_000);
        assert.equal(plan.concurrent, 240_000);
        assert.equal(plan.proxies, 2);
    });

    it("matches the lab's measurement: K NAT ports x N destinations per proxy (test 8 of npm run test:lab)", () => {
        for (const [k, n] of [[8, 3], [4, 5]]) {
            const plan = planCapacity({ connections: k * n, destinations: n, natPortRange: k, proxiesMin: 1 });
            assert.equal(plan.perProxy, k * n);
            assert.equal(plan.proxies, 1);
            assert.equal(planCapacity({ connections: k * n + 1, destinations: n, natPortRange: k, proxiesMin: 1 }).proxies, 2);
        }
    });

    it("models the bounded port search: exhaustive for small ranges, u^248 for large ones", () => {
        assert.equal(portSearchFailure(0.99, 8), 0);
        assert.equal(portSearchFailure(1, 8), 1);
        assert.equal(portSearchFailure(1, 64_512), 1);
        assert.ok(Math.abs(portSearchFailure(NAT_USABLE_FRACTION, 64_512) - 0.001) < 1e-12);
        assert.ok(portSearchFailure(0.5, 64_512) < 1e-70);
        assert.ok(NAT_USABLE_FRACTION > 0.972 && NAT_USABLE_FRACTION < 0.973);
    });

    it("rejects bad input with the flag named", () => {
        const bad: Array<[Parameters<typeof planCapacity>[0], string]> = [
            [{ connections: 0, destinations: 3 }, "--connections"],
            [{ connections: 1.5, destinations: 3 }, "--connections"],
            [{ connections: 10, destinations: 0 }, "--destinations"],
            [{ connections: 10, destinations: 33 }, "--destinations"],
            [{ connections: 10, destinations: 3, natPortRange: 64_513 }, "--nat-port-range"],
            [{ connections: 10, destinations: 3, conntrackMax: 100 }, "--conntrack-max"],
            [{ connections: 10, destinations: 3, proxiesMin: 0 }, "--proxies-min"],
            [{ connections: 10, destinations: 3, portsPerDestination: 0 }, "--ports-per-destination"],
            [{ connections: 10, destinations: 3, newPerSecond: -1 }, "--new-per-second"],
        ];
        for (const [input, flag] of bad) {
            assert.throws(() => planCapacity(input), (e: unknown) => e instanceof CapacityInputError && e.flag === flag, JSON.stringify(input));
        }
    });

    describe("CLI (npm run capacity)", () => {
        it("prints the plan and which limit binds first", () => {
            const r = cli(["--connections", "500000", "--destinations", "3"]);
            assert.equal(r.code, 0, r.err);
            assert.match(r.out, /Proxies: 3 /);
            assert.match(r.out, /the NAT port space binds first/);
            assert.equal(r.out, formatPlan(planCapacity({ connections: 500_000, destinations: 3 })));
        });

        it("accepts every documented flag, and --json", () => {
            const r = cli(["--connections", "500000", "--destinations", "3", "--proxies-min", "2", "--ports-per-destination", "2",
                "--conntrack-max", "262144", "--nat-port-range", "64512", "--new-per-second", "0", "--json"]);
            assert.equal(r.code, 0, r.err);
            const plan = JSON.parse(r.out) as { proxies: number; binding: string[] };
            assert.equal(plan.proxies, 2);
            assert.deepEqual(plan.binding, ["conntrack"]);
        });

        it("exits 2 with a clear message on bad flags", () => {
            for (const argv of [
                ["--destinations", "3"],
                ["--connections", "500000"],
                ["--connections", "lots", "--destinations", "3"],
                ["--connections", "-5", "--destinations", "3"],
                ["--connections", "5e5", "--destinations", "3"],
                ["--connections", "500000", "--destinations", "99"],
                ["--connections", "500000", "--destinations", "3", "--nat-port-range", "70000"],
                ["--connections", "500000", "--destinations", "3", "--bogus", "1"],
                ["--connections", "500000", "--destinations", "3", "extra"],
            ]) {
                const r = cli(argv);
                assert.equal(r.code, 2, `${argv.join(" ")}: exit ${r.code}`);
                assert.equal(r.out, "");
                assert.match(r.err, /^capacity: [\s\S]+\nusage: npm run capacity/, r.err);
            }
        });
    });

    it("limits sustained churn: every NAT tuple once per max(proxy TIME_WAIT, destination's 60 s)", () => {
        assert.deepEqual(sustainedNewPerSecond(3_000, 3), { holdSeconds: 70, perProxy: Math.floor(64_512 * 3 / 70), proxies: 2 });
        // The kernel's default 120 s halves it; below the destination's 60 s nothing is gained (PAWS).
        assert.equal(sustainedNewPerSecond(1, 3, 1, 64_512, 120).perProxy, 1_612);
        assert.equal(sustainedNewPerSecond(1, 3, 1, 64_512, 30).holdSeconds, 60);
        assert.equal(sustainedNewPerSecond(10_000, 3, 2).proxies, 2);
        assert.throws(() => sustainedNewPerSecond(1, 3, 1, 64_512, 0), /--time-wait-timeout/);
    });

    it("prints the sustained limit when --new-per-second is given, and more proxies when churn needs them", () => {
        const r = cli(["--connections", "1000", "--destinations", "3", "--new-per-second", "10000"]);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /Sustained churn: one proxy NATs at most 2,764 new connections\/s \(64,512 ports x 3 destinations x 1 port \/ 70 s/);
        assert.match(r.out, /10,000\/s needs 4 proxies\.\n/);
        // A proxy left at the kernel's 120 s would need more proxies than the concurrency model says.
        assert.match(cli(["--connections", "1000", "--destinations", "3", "--new-per-second", "10000", "--time-wait-timeout", "120"]).out,
            /at most 1,612 new connections\/s .* 10,000\/s needs 7 proxies: MORE than the 4 above, run 7\./);
        assert.doesNotMatch(cli(["--connections", "1000", "--destinations", "3"]).out, /Sustained/);
        const slow = cli(["--connections", "1000", "--destinations", "3", "--new-per-second", "10000", "--time-wait-timeout", "120", "--json"]);
        assert.equal(JSON.parse(slow.out).sustained.perProxy, 1_612);
        assert.equal(cli(["--connections", "1", "--destinations", "1", "--time-wait-timeout", "x"]).code, 2);
    });
});
