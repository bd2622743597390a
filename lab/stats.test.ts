// The chi-square survival function against known values. Pure: runs with or without root.
import * as assert from "node:assert/strict";
import { chiSquareSurvival, chiSquareTest, logGamma, regularizedUpperGamma } from "./stats";

const close = (actual: number, expected: number, relative = 1e-9) =>
    assert.ok(Math.abs(actual - expected) <= relative * Math.max(Math.abs(expected), 1e-300),
        `expected ${expected}, got ${actual}`);

describe("chi-square survival function (lab/stats.ts)", () => {
    it("logGamma matches factorials and Γ(1/2) = √π", () => {
        assert.ok(Math.abs(logGamma(1)) < 1e-14);
        close(logGamma(5), Math.log(24));
        close(logGamma(11), Math.log(3628800));
        close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)));
        close(logGamma(171), 706.5730622457874, 1e-12);
    });

    it("matches the critical values of the textbook table", () => {
        // x such that P(X > x) = p, as in any table of chi-square critical values (full precision from scipy)
        close(chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-8);
        close(chiSquareSurvival(6.6348966010212145, 1), 0.01, 1e-8);
        close(chiSquareSurvival(10.827566170662733, 1), 0.001, 1e-8);
        close(chiSquareSurvival(16.26623619623813, 3), 0.001, 1e-8);
    });

    it("matches scipy.stats.chi2.sf (scipy 1.17.1) over small and large df", () => {
        const cases: Array<[number, number, number]> = [
            [7.0, 3, 0.07189777249646509],
            [0.5, 5, 0.9921232932326296],
            [30, 10, 0.000856641210775301],
            [100, 50, 3.454931382984871e-05],
            [0.001, 1, 0.9747728793699604],
            [1.5, 1, 0.22067136191984324],
            [250, 200, 0.009379131668826098],
        ];
        for (const [x, df, p] of cases) close(chiSquareSurvival(x, df), p, 1e-8);
    });

    it("matches the closed form for even df: e^(-x/2) Σ_{j<k} (x/2)^j / j!", () => {
        for (const df of [2, 4, 6, 10]) {
            for (const x of [0.1, 1, 2, 5, 12, 50]) {
                const k = df / 2;
                let sum = 0;
                let term = 1;
                for (let j = 0; j < k; j++) {
                    if (j > 0) term *= x / 2 / j;
                    sum += term;
                }
                close(chiSquareSurvival(x, df), Math.exp(-x / 2) * sum, 1e-9);
            }
        }
    });

    it("is 1 at 0, decreasing, and Q(a, x) + P(a, x) stays in [0, 1]", () => {
        assert.equal(chiSquareSurvival(0, 3), 1);
        let previous = 1;
        for (let x = 0.25; x < 60; x += 0.25) {
            const p = chiSquareSurvival(x, 4);
            assert.ok(p <= previous && p >= 0, `not decreasing at ${x}`);
            previous = p;
        }
        assert.ok(regularizedUpperGamma(2.5, 1e-9) > 0.999999);
    });

    it("accepts a fair split and rejects the seed's 0.5-then-0.5 cascade over three destinations", () => {
        const fair = chiSquareTest([1012, 987, 1001]);
        assert.equal(fair.df, 2);
        assert.ok(fair.p > 0.5, `p = ${fair.p}`);
        // 1/2, then 1/2 of the rest, then the rest: 50 % / 25 % / 25 % instead of a third each.
        const seedLike = chiSquareTest([1500, 750, 750]);
        // statistic 375 with 2 df: p = e^(-187.5) ≈ 3.7e-82
        close(seedLike.p, Math.exp(-187.5), 1e-6);
        assert.ok(seedLike.p < 1e-50, `p = ${seedLike.p}`);
        const weighted = chiSquareTest([1500, 750, 750], [2, 1, 1]);
        assert.equal(weighted.statistic, 0);
        assert.equal(weighted.p, 1);
    });

    it("rejects bad input", () => {
        assert.throws(() => chiSquareSurvival(1, 0), RangeError);
        assert.throws(() => chiSquareTest([5]), RangeError);
        assert.throws(() => chiSquareTest([0, 0]), RangeError);
        assert.throws(() => chiSquareTest([1, 2], [1]), RangeError);
    });
});
