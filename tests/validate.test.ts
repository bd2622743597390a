// Pure tests of the shared validators (config/validate.ts) and of the region/partition helpers
// (config/partition.ts). Every rejection must name the key it checks and say what to write instead.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
    InvalidValueError, MAX_DESTINATIONS, MAX_PORTS, PRINTABLE_LENGTH, destinationProblem, parseIpv4, printable, requireDestinations,
    requireDomainName, requireInteger, requireLabel, requirePortRange, requirePorts,
} from "../core/validate";
import { dnsSuffix, partitionOf, requireRegion } from "../core/partition";
import { rejects } from "./assertions";



/** n distinct valid unicast addresses in 203.0.113.0/24 and 198.51.100.0/24. */
const addresses = (n: number) => Array.from({ length: n }, (_, i) => i < 250 ? `203.0.113.${i + 1}` : `198.51.100.${i - 249}`);

describe("InvalidValueError", () => {
    it("carries the key and the detail, and prints 'key: detail'", () => {
        const err = new InvalidValueError("cross-region-proxy:vpcCidr", "expected a /16");
        assert.ok(err instanceof Error);
        assert.equal(err.name, "InvalidValueError");
        assert.equal(err.key, "cross-region-proxy:vpcCidr");
        assert.equal(err.detail, "expected a /16");
        assert.equal(err.message, "cross-region-proxy:vpcCidr: expected a /16");
    });
});

describe("parseIpv4", () => {
    it("reads canonical dotted quads", () => {
        assert.deepEqual(parseIpv4("0.0.0.0"), [0, 0, 0, 0]);
        assert.deepEqual(parseIpv4("203.0.113.10"), [203, 0, 113, 10]);
        assert.deepEqual(parseIpv4("255.255.255.255"), [255, 255, 255, 255]);
        assert.deepEqual(parseIpv4("10.0.0.1"), [10, 0, 0, 1]);
    });

    for (const bad of [
        "", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.", ".1.2.3", "256.0.0.1", "1.2.3.256", "1.2.3.1000", "999.999.999.999",
        "01.2.3.4", "1.2.3.04", "00.0.0.0", "0x7f.0.0.1", "1.2.3.4/32", "10.0.0.0/8", "::1", "::ffff:1.2.3.4", "fe80::1",
        "a.b.c.d", "localhost", "example.com", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "\n1.2.3.4", "1.2.3.4\u0000",
        "1.2.3.4:80", "+1.2.3.4", "-1.2.3.4", "1.2.3.-4", "１.２.３.４", "1.2.3.4\u200b", "١.٢.٣.٤", "1,2,3,4", "2130706433",
    ]) {
        it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(parseIpv4(bad), undefined));
    }

    it("accepts exactly the canonical form of every address (property)", () => {
        fc.assert(fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), octets => {
            assert.deepEqual(parseIpv4(octets.join(".")), octets);
        }), { numRuns: 300 });
        fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 20 }), s => {
            const octets = parseIpv4(s);
            if (octets !== undefined) {
                assert.equal(octets.join("."), s);
            }
        }), { numRuns: 500 });
    });
});

describe("destinationProblem", () => {
    const cases: Array<[string, RegExp]> = [
        ["127.0.0.1", /loopback/],
        ["127.255.255.254", /loopback/],
        ["169.254.169.254", /link-local .*instance metadata service/],
        ["169.254.0.1", /link-local/],
        ["224.0.0.1", /multicast/],
        ["239.255.255.255", /multicast/],
        ["0.0.0.0", /0\.0\.0\.0\/8 \("this network"\)/],
        ["0.1.2.3", /this network/],
        ["240.0.0.1", /reserved or broadcast \(240\.0\.0\.0\/4\)/],
        ["255.255.255.255", /reserved or broadcast/],
        ["010.0.0.1", /not an IPv4 address \(expected a dotted quad such as 203\.0\.113\.10/],
        ["203.0.113.010", /not an IPv4 address/],
        ["10.0.0.0/8", /not an IPv4 address .*no CIDR/],
        ["203.0.113.10/32", /no CIDR/],
        ["::1", /no IPv6/],
        ["2001:db8::1", /no IPv6/],
        ["example.com", /no host name/],
        ["nlb-1.elb.us-east-2.amazonaws.com", /no host name/],
        ["", /'' is not an IPv4 address/],
    ];
    for (const [value, gist] of cases) {
        it(`rejects ${JSON.stringify(value)} (${gist.source})`, () => {
            const problem = destinationProblem(value);
            assert.ok(problem !== undefined, `${value} should be rejected`);
            assert.match(problem, gist);
        });
    }

    for (const ok of [
        "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.255", "192.168.1.1", // RFC 1918
        "192.0.2.1", "198.51.100.7", "203.0.113.10", // RFC 5737
        "1.1.1.1", "1.0.0.0", "100.64.0.1", "126.255.255.255", "128.0.0.1", "169.253.255.255", "169.255.0.1", "223.255.255.255",
    ]) {
        it(`accepts ${ok}`, () => assert.equal(destinationProblem(ok), undefined));
    }

    it("escapes a hostile value in its message", () => {
        const problem = destinationProblem("1.2.3.4\n$(reboot)\u0000");
        assert.ok(problem);
        assert.ok(problem.includes("1.2.3.4\\n$(reboot)\\u0000"), problem);
        assert.doesNotMatch(problem, /[\u0000-\u001f]/);
    });
});

describe("requireDestinations", () => {
    it("returns the list as given, in order", () => {
        const list = ["203.0.113.12", "10.0.0.1", "203.0.113.10"];
        assert.deepEqual(requireDestinations("destinations", list), list);
    });

    it("rejects an empty list", () => rejects(() => requireDestinations("destinations", []), "destinations", /needs at least one IPv4 address/));

    it("rejects a duplicate, naming it", () =>
        rejects(() => requireDestinations("k", ["203.0.113.10", "203.0.113.11", "203.0.113.10"]), "k",
            /203\.0\.113\.10 is listed twice; each destination must appear once/));

    it(`accepts ${MAX_DESTINATIONS} addresses and rejects ${MAX_DESTINATIONS + 1}`, () => {
        assert.equal(requireDestinations("k", addresses(MAX_DESTINATIONS)).length, MAX_DESTINATIONS);
        rejects(() => requireDestinations("k", addresses(MAX_DESTINATIONS + 1)), "k",
            new RegExp(`has ${MAX_DESTINATIONS + 1} addresses; at most ${MAX_DESTINATIONS} are supported`));
        rejects(() => requireDestinations("k", addresses(1000)), "k", new RegExp(`has 1000 addresses; at most ${MAX_DESTINATIONS}`));
    });

    for (const [value, type] of [[5, "number"], [null, "object"], [undefined, "undefined"], [["1.2.3.4"], "object"], [true, "boolean"]] as const) {
        it(`rejects a non-string element (${type})`, () =>
            rejects(() => requireDestinations("k", ["203.0.113.10", value]), "k", new RegExp(`expected IPv4 addresses as strings, got ${type}`)));
    }

    it("rejects a bad address with the reason", () => {
        rejects(() => requireDestinations("cross-region-proxy:destinationIps", ["203.0.113.10", "169.254.169.254"]),
            "cross-region-proxy:destinationIps", /link-local/);
        rejects(() => requireDestinations("--destinations", ["203.0.113.10;reboot"]), "--destinations", /not an IPv4 address/);
    });
});

describe("requirePorts", () => {
    it("returns numbers, in order", () => {
        assert.deepEqual(requirePorts("ports", [443, 80, 1, 65535]), [443, 80, 1, 65535]);
    });

    it("accepts digit strings (comma-separated config values, CLI flags) as numbers", () => {
        assert.deepEqual(requirePorts("ports", ["80", "443"]), [80, 443]);
        assert.deepEqual(requirePorts("ports", [" 8080 "]), [8080]);
    });

    it("rejects an empty list", () => rejects(() => requirePorts("ports", []), "ports", /needs at least one TCP port/));

    it("rejects port 0 and 65536", () => {
        rejects(() => requirePorts("ports", [0]), "ports", /expected a whole number from 1 to 65535, got '0'/);
        rejects(() => requirePorts("ports", [80, 65536]), "ports", /from 1 to 65535, got '65536'/);
        rejects(() => requirePorts("ports", ["0"]), "ports", /got '0'/);
        rejects(() => requirePorts("ports", [-1]), "ports", /got '-1'/);
    });

    it("rejects duplicates, also across number and string forms", () => {
        rejects(() => requirePorts("ports", [80, 443, 80]), "ports", /port 80 is listed twice/);
        rejects(() => requirePorts("ports", ["80", 80]), "ports", /port 80 is listed twice/);
    });

    it(`accepts ${MAX_PORTS} ports and rejects ${MAX_PORTS + 1}`, () => {
        const ports = Array.from({ length: MAX_PORTS + 1 }, (_, i) => 1000 + i);
        assert.deepEqual(requirePorts("ports", ports.slice(0, MAX_PORTS)), ports.slice(0, MAX_PORTS));
        rejects(() => requirePorts("ports", ports), "ports", new RegExp(`has ${MAX_PORTS + 1} ports; at most ${MAX_PORTS} are supported`));
    });

    for (const bad of [80.5, NaN, Infinity, 2 ** 53, "80.0", "8O", "0x50", "1e2", "", "80 443", "80;reboot", "８０", true, null, undefined, {}, [80]]) {
        it(`rejects ${typeof bad === "string" ? JSON.stringify(bad) : String(bad)}`, () =>
            rejects(() => requirePorts("ports", [bad]), "ports", /expected a whole number from 1 to 65535/));
    }
});

describe("requireInteger", () => {
    it("accepts the bounds and digit strings", () => {
        assert.equal(requireInteger("k", 60, 60, 6000), 60);
        assert.equal(requireInteger("k", "6000", 60, 6000), 6000);
    });
    it("rejects values outside the bounds, naming them", () => {
        rejects(() => requireInteger("k", 59, 60, 6000), "k", /expected a whole number from 60 to 6000, got '59'/);
        rejects(() => requireInteger("k", "6001", 60, 6000), "k", /got '6001'/);
        rejects(() => requireInteger("k", "99999999999999999999", 1, 10), "k", /got '99999999999999999999'/);
    });
});

describe("requirePortRange", () => {
    it("reads LO-HI and a single port", () => {
        assert.deepEqual(requirePortRange("k", "1024-65535"), { from: 1024, to: 65535 });
        assert.deepEqual(requirePortRange("k", "20000-60000"), { from: 20000, to: 60000 });
        assert.deepEqual(requirePortRange("k", "30000"), { from: 30000, to: 30000 });
        assert.deepEqual(requirePortRange("k", " 2000-3000 "), { from: 2000, to: 3000 });
    });

    it("rejects privileged and out-of-range ports", () => {
        rejects(() => requirePortRange("k", "80-90"), "k", /expected a whole number from 1024 to 65535, got '80'/);
        rejects(() => requirePortRange("k", "1023-2000"), "k", /got '1023'/);
        rejects(() => requirePortRange("k", "1024-70000"), "k", /got '70000'/);
        rejects(() => requirePortRange("k", "99999"), "k", /got '99999'/);
    });

    it("rejects an empty range", () =>
        rejects(() => requirePortRange("k", "3000-2000"), "k", /range 3000-2000 is empty: the first port must not exceed the last/));

    for (const bad of ["", "abc", "1024-", "-1024", "1024:2000", "1024-2000-3000", "1024 - 2000", "1024-2000;reboot", "123456", "1024-2000\nx"]) {
        it(`rejects ${JSON.stringify(bad)} as not a range`, () =>
            rejects(() => requirePortRange("--nat-ports", bad), "--nat-ports", /expected a port range such as 1024-65535/));
    }
});

describe("requireDomainName", () => {
    for (const ok of ["poc1009.example.com", "a.b", "a-b.example.com", "xn--fiqs8s.cn", "1.example.com", `${"a".repeat(63)}.com`]) {
        it(`accepts ${ok}`, () => assert.equal(requireDomainName("k", ok), ok));
    }

    it("accepts 253 characters and rejects 254", () => {
        const name = (length: number) => {
            const labels = [];
            let rest = length;
            while (rest > 0) {
                const n = Math.min(63, rest === 64 ? 62 : rest);
                labels.push("a".repeat(n));
                rest -= n + 1;
            }
            return labels.join(".");
        };
        assert.equal(name(253).length, 253);
        assert.equal(requireDomainName("k", name(253)), name(253));
        assert.equal(name(255).length, 255);
        rejects(() => requireDomainName("k", name(255)), "k", /not a lower-case DNS name/);
    });

    for (const missing of [undefined, "", 5, null]) {
        it(`says a missing value (${String(missing)}) is required`, () =>
            rejects(() => requireDomainName("cross-region-proxy:domainName", missing), "cross-region-proxy:domainName",
                /is required: a DNS name such as poc1009\.example\.com/));
    }

    for (const bad of [
        "localhost", "Example.com", "POC1009.EXAMPLE.COM", "*.example.com", "example.com.", ".example.com", "-a.example.com",
        "a-.example.com", "a..example.com", `${"a".repeat(64)}.com`, "a_b.example.com", "exa mple.com", "example.com\n",
        "例子.example.com", "https://example.com", "example.com/path", "203.0.113.10:443",
    ]) {
        it(`rejects ${JSON.stringify(bad)}`, () =>
            rejects(() => requireDomainName("k", bad), "k", /is not a lower-case DNS name such as poc1009\.example\.com \(no wildcard, no trailing dot\)/));
    }
});

describe("requireLabel", () => {
    for (const ok of ["test", "abc", "a-1", "0", "a".repeat(63)]) {
        it(`accepts ${ok}`, () => assert.equal(requireLabel("k", ok), ok));
    }
    for (const bad of ["", "Test", "a.b", "-a", "a-", "a".repeat(64), "a b", "*", "a_b", "abc\n"]) {
        it(`rejects ${JSON.stringify(bad)}`, () =>
            rejects(() => requireLabel("cross-region-proxy:cloudfrontRecordName", bad), "cross-region-proxy:cloudfrontRecordName",
                /is not a single lower-case DNS label such as "abc"/));
    }
});

describe("printable", () => {
    it("escapes newlines, quotes, backslashes and control characters", () => {
        assert.equal(printable("a\nb"), "a\\nb");
        assert.equal(printable("a\r\nb\tc"), "a\\r\\nb\\tc");
        assert.equal(printable("say \"hi\""), "say \\\"hi\\\"");
        assert.equal(printable("\u0000\u001b[31m"), "\\u0000\\u001b[31m");
        assert.equal(printable("back\\slash"), "back\\\\slash");
        assert.equal(printable("plain 203.0.113.10"), "plain 203.0.113.10");
    });

    it(`keeps ${PRINTABLE_LENGTH} characters and truncates longer values to ${PRINTABLE_LENGTH - 3} plus '...'`, () => {
        assert.equal(printable("x".repeat(PRINTABLE_LENGTH)), "x".repeat(PRINTABLE_LENGTH));
        assert.equal(printable("x".repeat(PRINTABLE_LENGTH + 1)), `${"x".repeat(PRINTABLE_LENGTH - 3)}...`);
        assert.equal(printable("y".repeat(1_000_000)).length, PRINTABLE_LENGTH);
        // Escapes count towards the limit.
        assert.equal(printable("\n".repeat(PRINTABLE_LENGTH / 2 + 1)), `${"\\n".repeat((PRINTABLE_LENGTH - 4) / 2)}\\...`);
    });

    it(`never returns a control character nor more than ${PRINTABLE_LENGTH} characters (property)`, () => {
        fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), s => {
            const shown = printable(s);
            assert.ok(shown.length <= PRINTABLE_LENGTH);
            assert.doesNotMatch(shown, /[\u0000-\u001f\u007f]/);
            if (JSON.stringify(s).length - 2 <= PRINTABLE_LENGTH) {
                assert.equal(JSON.parse(`"${shown}"`), s);
            }
        }), { numRuns: 300 });
    });
});

describe("partitionOf and requireRegion", () => {
    for (const [region, partition] of [
        ["us-east-1", "aws"], ["us-east-2", "aws"], ["eu-west-1", "aws"], ["ap-southeast-1", "aws"], ["il-central-1", "aws"],
        ["cn-north-1", "aws-cn"], ["cn-northwest-1", "aws-cn"], ["us-gov-west-1", "aws-us-gov"], ["us-gov-east-1", "aws-us-gov"],
    ] as const) {
        it(`${region} is a valid region in ${partition}`, () => {
            assert.equal(requireRegion(region), region);
            assert.equal(partitionOf(region), partition);
        });
    }

    it("gives the partition's DNS suffix", () => {
        assert.equal(dnsSuffix("aws"), "amazonaws.com");
        assert.equal(dnsSuffix("aws-cn"), "amazonaws.com.cn");
        assert.equal(dnsSuffix("aws-us-gov"), "amazonaws.com");
    });

    for (const bad of [undefined, "", "us-east", "US-EAST-1", "useast1", "us-east-1a", " cn-northwest-1", "cn-northwest-1 ", "mars-north-1", "cn-northwest", "us-east-12"]) {
        it(`rejects region ${JSON.stringify(bad)}, saying how to set it`, () =>
            rejects(() => requireRegion(bad), "aws:region",
                /expected an AWS region such as us-east-2 or cn-northwest-1/, /run 'pulumi config set aws:region <region>'/));
    }
});
