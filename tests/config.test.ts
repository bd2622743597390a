// Pure tests of the stack config parsers (config/index.ts, global.ts, china.ts) over a plain-object
// source: no Pulumi mocks, no engine. Every invalid case names its key and says what to write instead.
import { strict as assert } from "node:assert";
import { readStackConfig } from "../offline/run";
import * as pulumi from "@pulumi/pulumi";
import { parseRole } from "../config";
import { CHINA_KEYS, ChinaConfig, parseChinaConfig, qualifyStackName, resolveScaling } from "../config/china";
import { requireReplaceable, subnetsRemoved } from "../config/loadBalancers";
import { CONNTRACK_HIGH_PERCENT } from "../components/fleetMonitoring";
import { scalingTargets } from "../proxy/capacity";
import { GLOBAL_KEYS, GlobalConfig, parseGlobalConfig, requireSubnetZones } from "../config/global";
import { NAMESPACE, UNDECRYPTED_SECRET, objectConfigSource } from "../config/reader";
import { escapeRegExp, rejects } from "./assertions";
import { CERT, KEY, OTHER_CERT, OTHER_KEY } from "./certificates";
import {
    CONNTRACK_MAX_LIMITS, DEFAULT_CONNMARK, DEFAULT_CONNTRACK_MAX, DEFAULT_DRAIN_SECONDS, DRAIN_SECONDS_LIMITS, DEFAULT_ESTABLISHED_TIMEOUT_SECONDS, DEFAULT_TIME_WAIT_TIMEOUT_SECONDS,
} from "../proxy/spec";

type Values = Record<string, string | number | boolean | object>;

const q = (k: string) => `${NAMESPACE}:${k}`;


const GLOBAL_BASE: Values = { role: "global", domainName: "poc1009.example.com", cnDomainName: "poc1010.example.com" };
const parseGlobal = (extra: Values = {}, region = "us-east-2", stack = "global", drop: string[] = []) => {
    const values: Values = { ...GLOBAL_BASE, ...extra };
    for (const k of drop) delete values[k];
    return parseGlobalConfig(objectConfigSource(values), region, stack);
};
const rejectsGlobal = (extra: Values, k: string, ...gists: RegExp[]) => rejects(() => parseGlobal(extra), q(k), ...gists);

const CHINA_BASE: Values = {
    role: "china", cnDomainName: "poc1010.example.com", globalStack: "organization/cross-region-proxy/global", cloudfrontEnabled: "false",
};
const parseChina = (extra: Values = {}, region = "cn-northwest-1", drop: string[] = []) => {
    const values: Values = { ...CHINA_BASE, ...extra };
    for (const k of drop) delete values[k];
    return parseChinaConfig(objectConfigSource(values), region);
};
const rejectsChina = (extra: Values, k: string, ...gists: RegExp[]) => rejects(() => parseChina(extra), q(k), ...gists);
/** The single globalStack, as the one-entry list it is. */
const oneStack = (stack: string) => ({ stack, weight: 100, dial: 100, priority: 1, key: q("globalStack") });

const CN_HTTPBIN = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/go-httpbin:v2.18.3";
const UUID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
const ACM_US_EAST_1 = `arn:aws:acm:us-east-1:123456789012:certificate/${UUID}`;
const PEM = CERT;
const PEM_CHAIN = `${OTHER_CERT}${OTHER_CERT}`;

/** The stack file's `cross-region-proxy:*` values, read as the plan reads them (the one stack-file reader). */
function stackFileValues(file: string): { region?: string; values: Values } {
    const { values: config } = readStackConfig(file.replace(/^Pulumi\.|\.yaml$/g, ""));
    const values: Values = {};
    for (const [k, v] of Object.entries(config)) {
        if (k.startsWith(`${NAMESPACE}:`)) values[k.slice(NAMESPACE.length + 1)] = v;
    }
    return { region: config["aws:region"], values };
}

describe("parseRole", () => {
    it("reads global and china", () => {
        assert.equal(parseRole(objectConfigSource({ role: "global" })), "global");
        assert.equal(parseRole(objectConfigSource({ role: "china" })), "china");
    });
    it("requires the role, naming the stack file", () =>
        rejects(() => parseRole(objectConfigSource({})), q("role"), /expected global or china: set it in the stack file \(Pulumi\.<stack>\.yaml\)/));
    for (const bad of ["Global", "both", "", " china"]) {
        it(`rejects role ${JSON.stringify(bad)}`, () =>
            rejects(() => parseRole(objectConfigSource({ role: bad })), q("role"), new RegExp(`expected global or china, got '${escapeRegExp(bad)}'`)));
    }
});

describe("parseGlobalConfig", () => {
    it("fills every default from the region and the two domains", () => {
        const expected: GlobalConfig = {
            region: "us-east-2",
            partition: "aws",
            domainName: "poc1009.example.com",
            cnDomainName: "poc1010.example.com",
            hostedZoneId: undefined,
            cnHostedZoneId: undefined,
            cnCertificateArn: undefined,
            vpcCidr: "10.0.0.0/16",
            availabilityZoneCount: 2,
            existingVpc: undefined,
            clusterName: "crp-global",
            kubernetesVersion: "1.35",
            nodeInstanceType: "t3.medium",
            nodeMinSize: 2,
            nodeDesiredSize: 2,
            nodeMaxSize: 4,
            httpbinImage: "ghcr.io/mccutchen/go-httpbin:v2.18.3",
            httpbinReplicas: 2,
            lbControllerChartVersion: "3.5.0",
            listenerPorts: [80, 443],
            nlbIdleTimeoutSeconds: 350,
            alarmTopicArn: undefined,
            deletionProtection: true,
        };
        assert.deepStrictEqual(parseGlobal(), expected);
    });

    it("accepts the values of Pulumi.global.yaml", () => {
        const { region, values } = stackFileValues("Pulumi.global.yaml");
        const config = parseGlobalConfig(objectConfigSource(values), region, "global");
        assert.equal(config.domainName, "poc1009.example.com");
        assert.equal(config.cnDomainName, "poc1010.example.com");
    });

    it("names the cluster after the stack and derives the partition from the region", () => {
        assert.equal(parseGlobal({}, "us-east-2", "dev").clusterName, "crp-dev");
        assert.equal(parseGlobal({ httpbinImage: CN_HTTPBIN }, "cn-north-1").partition, "aws-cn");
        assert.equal(parseGlobal({}, "us-gov-west-1").partition, "aws-us-gov");
    });

    it("reads every setting it knows", () => {
        const existingVpc = { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-0aaaaaaa", "subnet-0bbbbbbb"], privateSubnetIds: ["subnet-0ccccccc", "subnet-0ddddddd"] };
        const config = parseGlobal({
            hostedZoneId: "Z0123456789ABCDEFGHIJ", cnHostedZoneId: "Z9876543210", cnCertificateArn: `arn:aws:acm:us-east-2:123456789012:certificate/${UUID}`,
            vpcCidr: "172.16.0.0/20", availabilityZoneCount: 3, existingVpc, clusterName: "my-cluster", kubernetesVersion: "1.32",
            nodeInstanceType: "m7g.large", nodeMinSize: 1, nodeDesiredSize: "3", nodeMaxSize: 5, httpbinImage: `registry.example.com:5000/team/httpbin@sha256:${"a".repeat(64)}`,
            httpbinReplicas: 3, lbControllerChartVersion: "1.14.0", listenerPorts: [443],
        });
        assert.equal(config.hostedZoneId, "Z0123456789ABCDEFGHIJ");
        assert.equal(config.cnHostedZoneId, "Z9876543210");
        assert.equal(config.vpcCidr, "172.16.0.0/20");
        assert.equal(config.availabilityZoneCount, 3);
        assert.deepStrictEqual(config.existingVpc, existingVpc);
        assert.equal(config.clusterName, "my-cluster");
        assert.equal(config.kubernetesVersion, "1.32");
        assert.deepEqual([config.nodeMinSize, config.nodeDesiredSize, config.nodeMaxSize], [1, 3, 5]);
        assert.equal(config.httpbinReplicas, 3);
        assert.deepEqual(config.listenerPorts, [443]);
    });

    it("reads listenerPorts as a list or as comma-separated text", () => {
        assert.deepEqual(parseGlobal({ listenerPorts: "443, 80" }).listenerPorts, [443, 80]);
        assert.deepEqual(parseGlobal({ listenerPorts: "[80]" }).listenerPorts, [80]);
    });

    describe("rejects", () => {
        it("an unknown key, suggesting the one meant", () => {
            rejectsGlobal({ domainname: "x.example.com" }, "domainname", /is not a setting of the global stack \(did you mean cross-region-proxy:domainName\?\)/);
            rejectsGlobal({ listenerPort: "80" }, "listenerPort", /did you mean cross-region-proxy:listenerPorts\?/);
            rejectsGlobal({ nodeMinSizes: 2 }, "nodeMinSizes", /did you mean cross-region-proxy:nodeMinSize\?/);
            const err = rejectsGlobal({ bogus: 1 }, "bogus", /is not a setting of the global stack; known keys: role, domainName, cnDomainName/);
            assert.doesNotMatch(err.message, /did you mean/);
            for (const k of GLOBAL_KEYS) assert.ok(err.message.includes(k));
        });

        it("a china-stack key", () => rejectsGlobal({ globalStack: "o/p/s" }, "globalStack", /is not a setting of the global stack/));

        it("a missing or bad region", () => {
            rejects(() => parseGlobalConfig(objectConfigSource(GLOBAL_BASE), undefined, "global"), "aws:region", /pulumi config set aws:region/);
            rejects(() => parseGlobal({}, "moon-1"), "aws:region", /got 'moon-1'/);
        });

        it("a missing domainName or cnDomainName", () => {
            rejects(() => parseGlobal({}, "us-east-2", "global", ["domainName"]), q("domainName"), /is required: the global domain, e\.g\. poc1009\.example\.com/);
            rejects(() => parseGlobal({ domainName: "   " }), q("domainName"), /is required/);
            rejects(() => parseGlobal({}, "us-east-2", "global", ["cnDomainName"]), q("cnDomainName"), /is required: the china domain, e\.g\. poc1010\.example\.com/);
        });

        it("a malformed domain", () => {
            rejectsGlobal({ domainName: "*.example.com" }, "domainName", /not a lower-case DNS name .*no wildcard/);
            rejectsGlobal({ cnDomainName: "Poc1010.example.com" }, "cnDomainName", /not a lower-case DNS name/);
            rejectsGlobal({ domainName: "example.com." }, "domainName", /no trailing dot/);
        });

        it("the same domain twice", () =>
            rejectsGlobal({ cnDomainName: "poc1009.example.com" }, "cnDomainName", /must differ from domainName: each domain gets its own certificate and records/));

        // Also a certificate of another region (an ALB takes its own region's only) or partition.
        for (const bad of ["arn:aws:acm:us-east-2:123456789012:certificate/not-a-uuid", "arn:aws:iam::123456789012:server-certificate/x",
            `arn:aws:acm:us-east-2:12345:certificate/${UUID}`, `arn:aws:acm:us-west-2:123456789012:certificate/${UUID}`,
            `arn:aws-cn:acm:us-east-2:123456789012:certificate/${UUID}`, `arn:aws:acm:us-east-2:123456789012:certificate/${UUID}:extra`]) {
            it(`cnCertificateArn ${bad}`, () =>
                rejectsGlobal({ cnCertificateArn: bad }, "cnCertificateArn", /expected an ACM certificate ARN such as arn:aws:acm:us-east-2:123456789012:certificate\/<uuid> \(the stack's partition and region\)/));
        }

        for (const bad of ["10.0.0.0/8", "10.0.0.0/24", "10.0.0.0", "8.8.0.0/16", "10.0.0.1/16", "fd00::/16", "10.0.0.0/16,10.1.0.0/16"]) {
            it(`vpcCidr ${JSON.stringify(bad)}`, () =>
                rejectsGlobal({ vpcCidr: bad }, "vpcCidr", /expected a private \/16-\/22 block such as 10\.0\.0\.0\/16/));
        }

        it("node sizes out of order, naming all three", () => {
            rejectsGlobal({ nodeMinSize: 3 }, "nodeDesiredSize", /need nodeMinSize <= nodeDesiredSize <= nodeMaxSize, got 3\/2\/4/);
            rejectsGlobal({ nodeDesiredSize: 5 }, "nodeDesiredSize", /got 2\/5\/4/);
            rejectsGlobal({ nodeMaxSize: 1, nodeMinSize: 1, nodeDesiredSize: 2 }, "nodeDesiredSize", /got 1\/2\/1/);
        });

        it("node sizes out of range or not numbers", () => {
            rejectsGlobal({ nodeMinSize: 0 }, "nodeMinSize", /expected a whole number from 1 to 100, got '0'/);
            rejectsGlobal({ nodeMaxSize: 101 }, "nodeMaxSize", /from 1 to 100, got '101'/);
            rejectsGlobal({ nodeDesiredSize: "two" }, "nodeDesiredSize", /got 'two'/);
            rejectsGlobal({ nodeDesiredSize: 2.5 }, "nodeDesiredSize", /got '2\.5'/);
        });

        it("a listener port without an ALB listener", () => {
            rejectsGlobal({ listenerPorts: [8080] }, "listenerPorts", /port 8080 has no ALB listener: an ALB-type target group must use an ALB listener port \(80, 443\)/);
            rejectsGlobal({ listenerPorts: "80,8443" }, "listenerPorts", /port 8443 has no ALB listener/);
        });

        it("malformed listener ports", () => {
            rejectsGlobal({ listenerPorts: [] }, "listenerPorts", /needs at least one TCP port/);
            rejectsGlobal({ listenerPorts: [80, 80] }, "listenerPorts", /port 80 is listed twice/);
            rejectsGlobal({ listenerPorts: [0] }, "listenerPorts", /from 1 to 65535, got '0'/);
            rejectsGlobal({ listenerPorts: "[80," }, "listenerPorts", /is not a valid list: write it as a YAML list or as comma-separated values/);
            rejectsGlobal({ listenerPorts: "http" }, "listenerPorts", /got 'http'/);
        });

        for (const bad of ["httpbin", "kennethreitz/httpbin", "docker.io/kennethreitz/httpbin", "ghcr.io/mccutchen/go-httpbin", "GHCR.io/mccutchen/go-httpbin:v2",
            "ghcr.io/mccutchen/go-httpbin:v2;reboot", "ghcr.io/mccutchen/go-httpbin@sha256:abc"]) {
            it(`httpbinImage ${bad}`, () =>
                rejectsGlobal({ httpbinImage: bad }, "httpbinImage", /expected an image reference with a registry and a tag or digest, such as ghcr\.io\/mccutchen\/go-httpbin:v2\.18\.3/));
        }

        for (const bad of ["1abc", "a_b", "a".repeat(33), "-abc", "crp.global"]) {
            it(`clusterName ${bad}`, () =>
                rejectsGlobal({ clusterName: bad }, "clusterName", /expected 1-32 letters, digits and hyphens starting with a letter/));
        }

        it("a default clusterName that the stack name makes invalid", () => {
            rejects(() => parseGlobal({}, "us-east-2", "my_stack"), q("clusterName"), /got 'crp-my_stack'/);
            assert.equal(parseGlobal({ clusterName: "ok" }, "us-east-2", "my_stack").clusterName, "ok");
        });

        for (const k of ["hostedZoneId", "cnHostedZoneId"]) {
            for (const bad of ["z0123456789", "Z", "/hostedzone/Z0123456789", "Z0123 456"]) {
                it(`${k} ${bad}`, () =>
                    rejectsGlobal({ [k]: bad }, k, /expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ/));
            }
        }

        const hint = /expected \{vpcId: vpc-\.\.\., publicSubnetIds: \[subnet-\.\.\., subnet-\.\.\.\], privateSubnetIds: \[subnet-\.\.\., subnet-\.\.\.\]\}/;
        it("existingVpc that is not JSON", () => rejectsGlobal({ existingVpc: "vpc-0123456789abcdef0" }, "existingVpc", hint));
        for (const [what, value] of [
            ["null", "null"],
            ["a list", "[]"],
            ["a number", "5"],
            ["no subnets", { vpcId: "vpc-0123456789abcdef0" }],
            ["a bad vpc id", { vpcId: "vpc-xyz", publicSubnetIds: ["subnet-0aaaaaaa", "subnet-0bbbbbbb"], privateSubnetIds: ["subnet-0ccccccc", "subnet-0ddddddd"] }],
            ["one public subnet", { vpcId: "vpc-01234567", publicSubnetIds: ["subnet-0aaaaaaa"], privateSubnetIds: ["subnet-0ccccccc", "subnet-0ddddddd"] }],
            ["a subnet id with a bad prefix", { vpcId: "vpc-01234567", publicSubnetIds: ["subnet-0aaaaaaa", "sg-0bbbbbbb"], privateSubnetIds: ["subnet-0ccccccc", "subnet-0ddddddd"] }],
            ["subnet ids that are not strings", { vpcId: "vpc-01234567", publicSubnetIds: ["subnet-0aaaaaaa", "subnet-0bbbbbbb"], privateSubnetIds: [1, 2] }],
        ] as const) {
            it(`existingVpc with ${what}`, () => rejectsGlobal({ existingVpc: value }, "existingVpc", hint, /with at least 2 subnets of each kind in different AZs/));
        }
        it("existingVpc that lists a subnet twice", () => rejectsGlobal({
            existingVpc: { vpcId: "vpc-01234567", publicSubnetIds: ["subnet-0aaaaaaa", "subnet-0bbbbbbb"], privateSubnetIds: ["subnet-0aaaaaaa", "subnet-0ddddddd"] },
        }, "existingVpc", /lists a subnet twice/));

        it("other malformed settings", () => {
            rejectsGlobal({ availabilityZoneCount: 1 }, "availabilityZoneCount", /from 2 to 6, got '1'/);
            rejectsGlobal({ availabilityZoneCount: 7 }, "availabilityZoneCount", /from 2 to 6, got '7'/);
            rejectsGlobal({ httpbinReplicas: 1 }, "httpbinReplicas", /from 2 to 50, got '1'/);
            rejectsGlobal({ kubernetesVersion: "v1.33" }, "kubernetesVersion", /'v1\.33' does not look like 1\.35/);
            rejectsGlobal({ nodeInstanceType: "T3.medium" }, "nodeInstanceType", /expected an EC2 instance type such as t3\.medium, got 'T3\.medium'/);
            rejectsGlobal({ lbControllerChartVersion: "v1.13.4" }, "lbControllerChartVersion", /does not look like 3\.5\.0/);
        });

        it("an aws-cn stack without httpbinImage: ghcr.io is not reachable there", () =>
            rejects(() => parseGlobal({}, "cn-northwest-1"), q("httpbinImage"),
                /is required in aws-cn: copy ghcr\.io\/mccutchen\/go-httpbin:v2\.18\.3 to a registry the cluster can reach \(an ECR repository in cn-northwest-1\)/));
    });

    it("trims values: surrounding spaces are not an error", () => {
        assert.equal(parseGlobal({ vpcCidr: " 10.1.0.0/16 ", domainName: " poc1009.example.com " }).vpcCidr, "10.1.0.0/16");
    });

    // Not an address, not private, or with bits past the prefix (subnets.ts would misalign).
    for (const bad of ["10.300.0.0/16", "192.0.0.0/16", "172.0.0.0/16", "10.0.1.0/16"]) {
        it(`rejects vpcCidr ${bad} (not a private, aligned /16-/22 block)`, () =>
            rejectsGlobal({ vpcCidr: bad }, "vpcCidr", /expected a private \/16-\/22 block/));
    }
});

describe("parseChinaConfig", () => {
    it("fills every default: fleet 2/2/4, ports 80 and 443, established timeout = idle + 10", () => {
        const expected: ChinaConfig = {
            region: "cn-northwest-1",
            partition: "aws-cn",
            cnDomainName: "poc1010.example.com",
            manageDnsRecords: true,
            hostedZoneId: undefined,
            destinations: { globalStacks: [oneStack("organization/cross-region-proxy/global")] },
            vpcCidr: "10.20.0.0/16",
            availabilityZoneCount: 2,
            proxyRecordName: "test",
            instanceType: "c6i.large",
            minSize: 2,
            desiredSize: 2,
            maxSize: 4,
            listenerPorts: [80, 443],
            amiId: undefined,
            idleTimeoutSeconds: 350,
            scaling: { newConnectionsPerSecond: undefined, conntrackUsedPercent: undefined },
            forwarding: { natPorts: undefined, conntrackMax: DEFAULT_CONNTRACK_MAX, establishedTimeoutSeconds: DEFAULT_ESTABLISHED_TIMEOUT_SECONDS, timeWaitTimeoutSeconds: DEFAULT_TIME_WAIT_TIMEOUT_SECONDS, connmark: DEFAULT_CONNMARK, drainSeconds: DEFAULT_DRAIN_SECONDS },
            edge: undefined,
            alarmTopicArn: undefined,
            deletionProtection: true,
            allowPrivateDestinations: false,
        };
        assert.deepStrictEqual(parseChina(), expected);
    });

    it("accepts the values of Pulumi.china.yaml", () => {
        const { region, values } = stackFileValues("Pulumi.china.yaml");
        const config = parseChinaConfig(objectConfigSource(values), region);
        assert.equal(config.partition, "aws-cn");
        assert.deepEqual(config.destinations, { globalStacks: [oneStack("global")] }, "resolved in the organization the china stack runs in");
        assert.equal(config.manageDnsRecords, false, "the documented default topology: the zone is in the global account");
    });

    it("reads the fleet and kernel settings", () => {
        const config = parseChina({
            proxyMinSize: 3, proxyDesiredSize: "4", proxyMaxSize: 10, proxyListenerPorts: "443", proxyIdleTimeoutSeconds: 600,
            proxyNatPorts: "20000-60000", proxyConntrackMax: 1048576, proxyInstanceType: "c7g.xlarge", proxyRecordName: "edge-1",
            vpcCidr: "192.168.0.0/22", availabilityZoneCount: 3, hostedZoneId: "Z0123456789",
        });
        assert.deepEqual([config.minSize, config.desiredSize, config.maxSize], [3, 4, 10]);
        assert.deepEqual(config.listenerPorts, [443]);
        assert.equal(config.idleTimeoutSeconds, 600);
        assert.deepStrictEqual(config.forwarding, { natPorts: { from: 20000, to: 60000 }, conntrackMax: 1048576, establishedTimeoutSeconds: 610, timeWaitTimeoutSeconds: 70, connmark: 0x4000, drainSeconds: DEFAULT_DRAIN_SECONDS });
        assert.equal(config.instanceType, "c7g.xlarge");
        assert.equal(config.proxyRecordName, "edge-1");
        assert.equal(config.hostedZoneId, "Z0123456789");
        assert.equal(config.availabilityZoneCount, 3);
    });

    it("keeps the established timeout 10 s over the idle timeout at both ends of its range", () => {
        assert.equal(parseChina({ proxyIdleTimeoutSeconds: 60 }).forwarding.establishedTimeoutSeconds, 70);
        assert.equal(parseChina({ proxyIdleTimeoutSeconds: "6000" }).forwarding.establishedTimeoutSeconds, 6010);
    });

    describe("destinations", () => {
        const key = "destinationIps";
        it("takes destinationIps as a list, over globalStack", () =>
            assert.deepStrictEqual(parseChina({ destinationIps: ["203.0.113.10", "203.0.113.11"] }).destinations, { ips: ["203.0.113.10", "203.0.113.11"] }));
        it("takes destinationIps as comma-separated text, without globalStack", () =>
            assert.deepStrictEqual(parseChina({ destinationIps: " 203.0.113.10, 198.51.100.7 ,10.0.0.1", allowPrivateDestinations: "true" }, "cn-northwest-1", ["globalStack"]).destinations,
                { ips: ["203.0.113.10", "198.51.100.7", "10.0.0.1"] }));
        for (const [ip, range] of [["10.0.0.1", "10.0.0.0/8"], ["172.31.255.255", "172.16.0.0/12"], ["192.168.1.1", "192.168.0.0/16"],
            ["100.64.0.1", "100.64.0.0/10"], ["198.19.0.1", "198.18.0.0/15"]] as const) {
            it(`refuses the private destination ${ip} without allowPrivateDestinations, naming the key`, () => {
                rejectsChina({ destinationIps: ["203.0.113.10", ip] }, key, new RegExp(`${escapeRegExp(ip)} is in ${escapeRegExp(range)}.*set cross-region-proxy:allowPrivateDestinations to true`));
                rejectsChina({ destinationIps: [ip], allowPrivateDestinations: "false" }, key, /allowPrivateDestinations/);
                assert.deepStrictEqual(parseChina({ destinationIps: [ip], allowPrivateDestinations: "true" }).destinations, { ips: [ip] });
            });
        }
        for (const ip of ["172.15.0.1", "172.32.0.1", "100.63.255.255", "100.128.0.1", "198.17.0.1", "198.20.0.1", "11.0.0.1"]) {
            it(`takes ${ip}, next to a private range but outside it`, () =>
                assert.deepStrictEqual(parseChina({ destinationIps: [ip] }).destinations, { ips: [ip] }));
        }
        it("falls back to globalStack when destinationIps is blank", () =>
            assert.deepStrictEqual(parseChina({ destinationIps: "  " }).destinations, { globalStacks: [oneStack("organization/cross-region-proxy/global")] }));

        it("rejects a bad address in either form", () => {
            rejectsChina({ destinationIps: ["203.0.113.10", "127.0.0.1"] }, key, /127\.0\.0\.1 is a loopback address/);
            rejectsChina({ destinationIps: "203.0.113.10,169.254.169.254" }, key, /link-local/);
            rejectsChina({ destinationIps: "10.0.0.0/8" }, key, /not an IPv4 address .*no CIDR/);
            rejectsChina({ destinationIps: "nlb.example.com" }, key, /no host name/);
            rejectsChina({ destinationIps: "203.0.113.10 203.0.113.11" }, key, /not an IPv4 address/);
            rejectsChina({ destinationIps: [" 203.0.113.10"] }, key, /not an IPv4 address/);
        });
        it("rejects duplicates, an empty list, non-strings, too many and broken JSON", () => {
            rejectsChina({ destinationIps: "203.0.113.10,203.0.113.10" }, key, /203\.0\.113\.10 is listed twice/);
            rejectsChina({ destinationIps: [] }, key, /needs at least one IPv4 address/);
            rejectsChina({ destinationIps: "," }, key, /needs at least one IPv4 address/);
            rejectsChina({ destinationIps: [1, 2] }, key, /expected IPv4 addresses as strings, got number/);
            rejectsChina({ destinationIps: Array.from({ length: 33 }, (_, i) => `203.0.113.${i + 1}`) }, key, /has 33 addresses; at most 32/);
            rejectsChina({ destinationIps: "[\"203.0.113.10\"" }, key, /is not a valid list/);
        });

        it("requires globalStack without destinationIps", () =>
            rejects(() => parseChina({}, "cn-northwest-1", ["globalStack"]), q("globalStack"),
                /is required \(the global stack's name, e.g. global, or <org>\/cross-region-proxy\/global\), unless globalStacks lists several or destinationIps lists NLB-1's addresses/));
        for (const name of ["global", "acme-corp/global", "acme-corp/cross-region-proxy/global"]) {
            it(`takes globalStack ${JSON.stringify(name)} (one of Pulumi's three forms)`, () =>
                assert.deepStrictEqual(parseChina({ globalStack: name }).destinations, { globalStacks: [oneStack(name)] }));
        }
        for (const bad of ["a/b/c/d", "org/cross-region-proxy/glo bal", "org//global", "org/p/s;x", "/global", "global/", "$(id)"]) {
            it(`rejects globalStack ${JSON.stringify(bad)}`, () =>
                rejectsChina({ globalStack: bad }, "globalStack", /expected a stack name: global \(this organization and project\), <org>\/global or <org>\/<project>\/global/));
        }
        it("qualifies a stack name with this stack's organization and project where it leaves them out", () => {
            assert.equal(qualifyStackName("global", "acme-corp", "cross-region-proxy"), "acme-corp/cross-region-proxy/global");
            assert.equal(qualifyStackName("other-org/global", "acme-corp", "cross-region-proxy"), "other-org/cross-region-proxy/global");
            assert.equal(qualifyStackName("o/p/global", "acme-corp", "cross-region-proxy"), "o/p/global");
        });
    });

    describe("rejects", () => {
        it("an unknown key, suggesting the one meant", () => {
            rejectsChina({ destinationIp: "203.0.113.10" }, "destinationIp", /is not a setting of the china stack \(did you mean cross-region-proxy:destinationIps\?\)/);
            rejectsChina({ cloudfrontenabled: "false" }, "cloudfrontenabled", /did you mean cross-region-proxy:cloudfrontEnabled\?/);
            // A global-stack key in the china stack: the nearest china key is suggested.
            const err = rejectsChina({ domainName: "poc1009.example.com" }, "domainName", /is not a setting of the china stack \(did you mean cross-region-proxy:cnDomainName\?\); known keys:/);
            rejectsChina({ clusterName: "x" }, "clusterName", /is not a setting of the china stack; known keys:/);
            for (const k of CHINA_KEYS) assert.ok(err.message.includes(k));
        });

        it("a missing or bad region", () => {
            rejects(() => parseChinaConfig(objectConfigSource(CHINA_BASE), undefined), "aws:region", /pulumi config set aws:region/);
            rejects(() => parseChina({}, "cn-west-1a"), "aws:region", /got 'cn-west-1a'/);
        });

        it("a missing or bad cnDomainName", () => {
            rejects(() => parseChina({}, "cn-northwest-1", ["cnDomainName"]), q("cnDomainName"), /is required: the china domain/);
            rejectsChina({ cnDomainName: "*.poc1010.example.com" }, "cnDomainName", /no wildcard/);
        });

        it("fleet sizes out of order or range", () => {
            rejectsChina({ proxyMinSize: 3 }, "proxyDesiredSize", /need proxyMinSize <= proxyDesiredSize <= proxyMaxSize, got 3\/2\/4/);
            rejectsChina({ proxyDesiredSize: 5 }, "proxyDesiredSize", /got 2\/5\/4/);
            rejectsChina({ proxyMaxSize: 0 }, "proxyMaxSize", /from 1 to 100, got '0'/);
        });

        it("an idle timeout outside the NLB's 60-6000 s", () => {
            rejectsChina({ proxyIdleTimeoutSeconds: 59 }, "proxyIdleTimeoutSeconds", /expected a whole number from 60 to 6000, got '59'/);
            rejectsChina({ proxyIdleTimeoutSeconds: 6001 }, "proxyIdleTimeoutSeconds", /got '6001'/);
            rejectsChina({ proxyIdleTimeoutSeconds: "5m" }, "proxyIdleTimeoutSeconds", /got '5m'/);
        });

        it("a bad NAT port range", () => {
            rejectsChina({ proxyNatPorts: "80-90" }, "proxyNatPorts", /from 1024 to 65535, got '80'/);
            rejectsChina({ proxyNatPorts: "60000-20000" }, "proxyNatPorts", /range 60000-20000 is empty/);
            rejectsChina({ proxyNatPorts: "any" }, "proxyNatPorts", /expected a port range such as 1024-65535, got 'any'/);
        });

        it("a conntrack size out of range", () =>
            rejectsChina({ proxyConntrackMax: 100 }, "proxyConntrackMax",
                new RegExp(`from ${CONNTRACK_MAX_LIMITS.min} to ${CONNTRACK_MAX_LIMITS.max}, got '100'`)));

        it("bad listener ports", () => {
            rejectsChina({ proxyListenerPorts: [0] }, "proxyListenerPorts", /from 1 to 65535, got '0'/);
            rejectsChina({ proxyListenerPorts: "443,443" }, "proxyListenerPorts", /port 443 is listed twice/);
            rejectsChina({ proxyListenerPorts: "[]" }, "proxyListenerPorts", /needs at least one TCP port/);
        });

        it("other malformed settings", () => {
            rejectsChina({ proxyInstanceType: "C6I.large" }, "proxyInstanceType", /expected an EC2 instance type such as c6i\.large, got 'C6I\.large'/);
            rejectsChina({ vpcCidr: "10.20.0.0/8" }, "vpcCidr", /expected a private \/16-\/22 block such as 10\.20\.0\.0\/16/);
            rejectsChina({ availabilityZoneCount: 1 }, "availabilityZoneCount", /from 2 to 6/);
            rejectsChina({ proxyRecordName: "Test" }, "proxyRecordName", /not a single lower-case DNS label/);
            rejectsChina({ hostedZoneId: "zone" }, "hostedZoneId", /expected a Route 53 hosted zone id/);
        });

        it("a vpcCidr that is not a valid CIDR block (10.300.0.0/16)", () =>
            rejectsChina({ vpcCidr: "10.300.0.0/16" }, "vpcCidr", /expected a private \/16-\/22 block/));

        for (const bad of ["yes", "True", "1", "no"]) {
            it(`cloudfrontEnabled ${JSON.stringify(bad)}`, () =>
                rejectsChina({ cloudfrontEnabled: bad }, "cloudfrontEnabled", new RegExp(`expected true or false, got '${bad}'`)));
        }

        // JSON can hold a value no String() converts: it still gets the usual message, not a TypeError.
        it("a port that is a JSON object with a toString key, as an InvalidValueError", () =>
            rejectsChina({ proxyListenerPorts: "[{\"toString\":1}]" }, "proxyListenerPorts", /expected a whole number from 1 to 65535/));
    });

    describe("CloudFront", () => {
        it("needs no certificate when disabled (boolean or text)", () => {
            assert.equal(parseChina({ cloudfrontEnabled: false }).edge, undefined);
            assert.equal(parseChina({ cloudfrontEnabled: "false" }, "us-east-1").edge, undefined);
            assert.equal(parseChina({ cloudfrontEnabled: "false", cloudfrontAcmCertificateArn: "ignored" }).edge, undefined);
        });

        describe("in cn-northwest-1 (aws-cn)", () => {
            const on = (extra: Values = {}, region = "cn-northwest-1") => parseChina({ cloudfrontEnabled: true, ...extra }, region);
            const rejectsOn = (extra: Values, k: string, ...gists: RegExp[]) => rejects(() => on(extra), q(k), ...gists);

            it("is enabled by default and then needs a certificate", () =>
                rejects(() => parseChina({}, "cn-northwest-1", ["cloudfrontEnabled"]), q("cloudfrontCertificateBody"),
                    /CloudFront in China needs an IAM server certificate/, /cloudfrontIamCertificateId/, /or set cloudfrontEnabled to false/));

            it("rejects an ACM certificate", () =>
                rejectsOn({ cloudfrontAcmCertificateArn: ACM_US_EAST_1, cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: KEY }, "cloudfrontAcmCertificateArn",
                    /CloudFront in China takes no ACM certificate: set cloudfrontCertificateBody/));

            it("rejects a missing body, saying how to set the key as a secret", () =>
                rejectsOn({}, "cloudfrontCertificateBody", /set cloudfrontCertificateBody \(PEM\), cloudfrontCertificateChain \(PEM\) and 'pulumi config set --secret cloudfrontPrivateKey < key\.pem'/));

            for (const [what, body] of [["text", "hello"], ["a private key", KEY], ["a certificate on one line", "-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----"]]) {
                it(`rejects a body that is ${what}`, () =>
                    rejectsOn({ cloudfrontCertificateBody: body, cloudfrontPrivateKey: KEY }, "cloudfrontCertificateBody", /expected a PEM certificate \(-----BEGIN CERTIFICATE----- \.\.\.\)/));
            }

            it("rejects a chain that is not PEM", () =>
                rejectsOn({ cloudfrontCertificateBody: PEM, cloudfrontCertificateChain: "chain", cloudfrontPrivateKey: KEY }, "cloudfrontCertificateChain", /expected PEM certificates/));

            it("rejects a body without its private key", () =>
                rejectsOn({ cloudfrontCertificateBody: PEM }, "cloudfrontPrivateKey",
                    /is required with cloudfrontCertificateBody: set it as a secret, 'pulumi config set --secret cloudfrontPrivateKey < key\.pem'/));

            it("uploads body, chain and key, the key as a secret output", () => {
                const edge = on({ cloudfrontCertificateBody: PEM, cloudfrontCertificateChain: PEM_CHAIN, cloudfrontPrivateKey: KEY });
                assert.ok(edge.edge);
                assert.equal(edge.edge.recordName, "abc");
                const cert = edge.edge.certificate;
                assert.equal(cert.kind, "iam-upload");
                if (cert.kind !== "iam-upload") return;
                assert.equal(cert.body, PEM.trim());
                assert.equal(cert.chain, PEM_CHAIN.trim());
                assert.ok(pulumi.Output.isInstance(cert.privateKey));
                // The key is only in the secret output, nowhere in the plain part of the config.
                assert.ok(!JSON.stringify({ ...edge, edge: { ...edge.edge, certificate: { ...cert, privateKey: undefined } } }).includes("PRIVATE KEY"));
            });

            it("also in cn-north-1", () =>
                assert.equal(on({ cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: KEY }, "cn-north-1").edge?.certificate.kind, "iam-upload"));

            it("uses an existing IAM server certificate by id", () => {
                const edge = on({ cloudfrontIamCertificateId: "ASCAEXAMPLE1234567890", cloudfrontRecordName: "www" }).edge;
                assert.deepStrictEqual(edge, { recordName: "www", certificate: { kind: "iam-existing", id: "ASCAEXAMPLE1234567890" } });
            });

            for (const bad of ["ascaexample1234567890", "ASCAEXAMPLE123456789", "ASCAEXAMPLE12345678901", "arn:aws-cn:iam::123456789012:server-certificate/cloudfront/x"]) {
                it(`rejects IAM certificate id ${bad}`, () =>
                    rejectsOn({ cloudfrontIamCertificateId: bad }, "cloudfrontIamCertificateId", /expected an IAM server certificate id \(21 upper-case letters and digits\)/));
            }

            it("rejects a bad record name", () =>
                rejectsOn({ cloudfrontIamCertificateId: "ASCAEXAMPLE1234567890", cloudfrontRecordName: "a.b" }, "cloudfrontRecordName", /single lower-case DNS label/));

            // Blank counts as unset, as for every other key; the upload would fail at deploy time.
            it("rejects an empty private key as missing", () =>
                rejectsOn({ cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: "" }, "cloudfrontPrivateKey", /is required/));

            // A key pasted into the body or chain would sit in clear in the stack file.
            it("rejects a private key inside the certificate body", () =>
                rejectsOn({ cloudfrontCertificateBody: `${PEM}${KEY}${PEM}`, cloudfrontPrivateKey: "k" }, "cloudfrontCertificateBody", /no private key/));
            it("rejects a private key inside the chain", () =>
                rejectsOn({ cloudfrontCertificateBody: PEM, cloudfrontCertificateChain: `${PEM}${KEY}${PEM}`, cloudfrontPrivateKey: "k" }, "cloudfrontCertificateChain", /no private key/));
            it("accepts a certificate with CRLF line endings", () => {
                const crlf = PEM.replace(/\n/g, "\r\n");
                assert.equal(on({ cloudfrontCertificateBody: crlf, cloudfrontPrivateKey: KEY }).edge?.certificate.kind, "iam-upload");
            });

            // Checked with node:crypto before anything is uploaded, the key without ever printing it.
            const keyLine = KEY.split("\n")[1];
            const certificateChecks: Array<[string, Values, string, RegExp, Date?]> = [
                ["a PEM that does not parse", { cloudfrontCertificateBody: "-----BEGIN CERTIFICATE-----\nMIIBnotacert\n-----END CERTIFICATE-----\n", cloudfrontPrivateKey: KEY },
                    "cloudfrontCertificateBody", /certificate 1 is not a valid X\.509 certificate/],
                ["a chain that does not parse", { cloudfrontCertificateBody: PEM, cloudfrontCertificateChain: "-----BEGIN CERTIFICATE-----\nMIIBx\n-----END CERTIFICATE-----", cloudfrontPrivateKey: KEY },
                    "cloudfrontCertificateChain", /certificate 1 is not a valid X\.509 certificate/],
                ["a certificate for another domain", { cloudfrontCertificateBody: OTHER_CERT, cloudfrontPrivateKey: OTHER_KEY },
                    "cloudfrontCertificateBody", /does not cover abc\.poc1010\.example\.com \(the CloudFront alias; subject CN=\*\.example\.org/],
                ["an expired certificate", { cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: KEY }, "cloudfrontCertificateBody", /expired on .* GMT: renew it/, new Date("2100-01-01")],
                ["the key of another certificate", { cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: OTHER_KEY }, "cloudfrontPrivateKey", /does not belong to cloudfrontCertificateBody/],
                ["a key that is not a key", { cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: `-----BEGIN PRIVATE KEY-----\n${keyLine}x\n-----END PRIVATE KEY-----` },
                    "cloudfrontPrivateKey", /is not a PEM private key/],
            ];
            for (const [what, values, key, gist, now] of certificateChecks) {
                it(`rejects ${what}, never printing the private key`, () => {
                    const err = rejects(() => parseChinaConfig(objectConfigSource({ ...CHINA_BASE, cloudfrontEnabled: "true", ...values }), "cn-northwest-1", now), q(key), gist);
                    assert.ok(!err.message.includes(keyLine) && !err.message.includes(OTHER_KEY.split("\n")[1]), "no key material in the message");
                });
            }

            it("covers another alias through cloudfrontRecordName, and skips only the key check for an undecrypted secret", () => {
                assert.equal(on({ cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: KEY, cloudfrontRecordName: "www" }).edge?.recordName, "www");
                assert.equal(on({ cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: UNDECRYPTED_SECRET }).edge?.certificate.kind, "iam-upload");
                rejects(() => on({ cloudfrontCertificateBody: OTHER_CERT, cloudfrontPrivateKey: UNDECRYPTED_SECRET }), q("cloudfrontCertificateBody"), /does not cover/);
            });
        });

        describe("in us-east-1 (aws)", () => {
            const on = (extra: Values = {}, region = "us-east-1") => parseChina({ cloudfrontEnabled: "true", ...extra }, region);
            const rejectsOn = (extra: Values, ...gists: RegExp[]) => rejects(() => on(extra), q("cloudfrontAcmCertificateArn"), ...gists);

            it("requires an ACM certificate ARN in us-east-1", () => {
                const err = rejectsOn({}, /outside China, CloudFront needs an ACM certificate in us-east-1 for \*\.<cnDomainName>/, /or set cloudfrontEnabled to false/);
                assert.doesNotMatch(err.message, /got/);
                // An IAM certificate does not replace it.
                rejectsOn({ cloudfrontCertificateBody: PEM, cloudfrontPrivateKey: KEY }, /needs an ACM certificate in us-east-1/);
            });

            for (const bad of [`arn:aws:acm:us-west-2:123456789012:certificate/${UUID}`, `arn:aws-cn:acm:us-east-1:123456789012:certificate/${UUID}`, "ASCAEXAMPLE1234567890"]) {
                it(`rejects ${bad}, quoting it`, () => rejectsOn({ cloudfrontAcmCertificateArn: bad }, new RegExp(`got '${escapeRegExp(bad)}'`)));
            }

            it("uses the ACM certificate, in any global region", () => {
                assert.deepStrictEqual(on({ cloudfrontAcmCertificateArn: ACM_US_EAST_1 }).edge, { recordName: "abc", certificate: { kind: "acm", arn: ACM_US_EAST_1 } });
                assert.equal(on({ cloudfrontAcmCertificateArn: ACM_US_EAST_1 }, "eu-west-1").edge?.certificate.kind, "acm");
                assert.equal(on({ cloudfrontAcmCertificateArn: ACM_US_EAST_1 }).partition, "aws");
            });
        });
    });
});

describe("alarmTopicArn (both stacks)", () => {
    const topic = "arn:aws:sns:us-east-2:123456789012:proxy-alarms";
    it("takes an SNS topic of the stack's partition and region", () => {
        assert.equal(parseGlobal({ alarmTopicArn: topic }).alarmTopicArn, topic);
        assert.equal(parseChina({ alarmTopicArn: "arn:aws-cn:sns:cn-northwest-1:123456789012:proxy-alarms" }).alarmTopicArn,
            "arn:aws-cn:sns:cn-northwest-1:123456789012:proxy-alarms");
    });
    for (const bad of ["arn:aws:sns:us-west-2:123456789012:proxy-alarms", "arn:aws-cn:sns:us-east-2:123456789012:x",
        "arn:aws:sqs:us-east-2:123456789012:x", "arn:aws:sns:us-east-2:123:x", "proxy-alarms", "arn:aws:sns:us-east-2:123456789012:a:b"]) {
        it(`rejects ${bad}`, () => rejects(() => parseGlobal({ alarmTopicArn: bad }), q("alarmTopicArn"),
            /expected an SNS topic ARN such as arn:aws:sns:us-east-2:123456789012:alarms \(the stack's partition and region\)/));
    }
});

describe("existingVpc zones (requireSubnetZones)", () => {
    const at = (zones: string[], prefix: string) => zones.map((availabilityZone, i) => ({ id: `subnet-${prefix}${i}`, availabilityZone }));
    it("takes one public subnet per zone in 2+ zones and private subnets in 2+ zones", () => {
        requireSubnetZones(at(["a", "b", "c"], "p"), at(["a", "a", "b"], "q"));
    });
    it("refuses two public subnets in one zone, naming both", () =>
        rejects(() => requireSubnetZones(at(["a", "b", "a"], "p"), at(["a", "b"], "q")), q("existingVpc"), /subnet-p0 and subnet-p2 are both in a/));
    it("refuses public subnets in one zone only", () =>
        rejects(() => requireSubnetZones(at(["a"], "p"), at(["a", "b"], "q")), q("existingVpc"), /publicSubnetIds are all in a: list public subnets in at least 2/));
    it("refuses private subnets in one zone only", () =>
        rejects(() => requireSubnetZones(at(["a", "b"], "p"), at(["b", "b"], "q")), q("existingVpc"), /privateSubnetIds are all in b: EKS/));
});

describe("load balancer replacement (subnetsRemoved, requireReplaceable)", () => {
    it("adding subnets is no replacement; removing or changing one is", () => {
        assert.deepEqual(subnetsRemoved(["a", "b"], ["a", "b", "c"]), []);
        assert.deepEqual(subnetsRemoved(["a", "b"], ["b", "a"]), []);
        assert.deepEqual(subnetsRemoved(["a", "b", "c"], ["a", "b"]), ["c"]);
        assert.deepEqual(subnetsRemoved(["a", "b"], ["a", "x"]), ["b"]);
    });
    it("refuses a replacement under deletion protection only, and only with a previous update to compare", () => {
        rejects(() => requireReplaceable("NLB-1", ["a", "b"], ["a"], true, "availabilityZoneCount"), q("deletionProtection"),
            /the change of availabilityZoneCount removes b from NLB-1's subnets, which replaces NLB-1/);
        requireReplaceable("NLB-1", ["a", "b"], ["a"], false, "availabilityZoneCount");
        requireReplaceable("NLB-1", undefined, ["a"], true, "availabilityZoneCount");
        requireReplaceable("NLB-1", ["a"], ["a", "b"], true, "availabilityZoneCount");
    });
});

describe("parseChinaConfig: scaling and drain", () => {
    it("scales by default, on targets the capacity model derives, and drains for 300 s", () => {
        const config = parseChina();
        assert.deepEqual(config.scaling, { newConnectionsPerSecond: undefined, conntrackUsedPercent: undefined });
        assert.equal(config.forwarding.drainSeconds, DEFAULT_DRAIN_SECONDS);
        assert.equal(DEFAULT_DRAIN_SECONDS, 300);
    });

    it("reads the switch, the targets and the drain limit", () => {
        assert.equal(parseChina({ proxyScaling: "false" }).scaling, undefined);
        assert.equal(parseChina({ proxyScaling: false, proxyMinSize: 2, proxyMaxSize: 2 }).scaling, undefined, "a fixed size needs no room");
        assert.deepEqual(parseChina({ proxyScalingNewConnectionsTarget: "800", proxyScalingConntrackTarget: 30 }).scaling,
            { newConnectionsPerSecond: 800, conntrackUsedPercent: 30 });
        for (const drain of [DRAIN_SECONDS_LIMITS.min, 900, DRAIN_SECONDS_LIMITS.max]) {
            assert.equal(parseChina({ proxyDrainSeconds: drain }).forwarding.drainSeconds, drain);
        }
    });

    describe("rejects", () => {
        it("a drain limit outside a lifecycle hook's heartbeat (30-7200 s)", () => {
            for (const bad of [29, 7201, "5m", -1]) rejectsChina({ proxyDrainSeconds: bad }, "proxyDrainSeconds", /expected a whole number from 30 to 7200/);
        });
        it("scaling in a fleet whose minimum and maximum are equal, naming proxyMaxSize and both ways out", () =>
            rejectsChina({ proxyMinSize: 3, proxyDesiredSize: 3, proxyMaxSize: 3 }, "proxyMaxSize", /equals proxyMinSize \(3\)/, /raise proxyMaxSize, or set proxyScaling to false/));
        it("a target with scaling off", () => {
            rejectsChina({ proxyScaling: "false", proxyScalingConntrackTarget: 30 }, "proxyScalingConntrackTarget", /proxyScaling is false/);
            rejectsChina({ proxyScaling: "false", proxyScalingNewConnectionsTarget: 30 }, "proxyScalingNewConnectionsTarget", /proxyScaling is false/);
        });
        it("targets out of range: a conntrack target at the conntrack-high alarm or above, zero, text", () => {
            rejectsChina({ proxyScalingConntrackTarget: CONNTRACK_HIGH_PERCENT }, "proxyScalingConntrackTarget", /from 1 to 79/);
            rejectsChina({ proxyScalingConntrackTarget: 0 }, "proxyScalingConntrackTarget", /from 1 to 79/);
            rejectsChina({ proxyScalingNewConnectionsTarget: "fast" }, "proxyScalingNewConnectionsTarget", /whole number/);
            rejectsChina({ proxyScaling: "yes" }, "proxyScaling", /expected true or false/);
        });
    });
});

describe("resolveScaling (the china stack, once NLB-1's addresses are known)", () => {
    const forwarding = parseChina().forwarding;

    it("derives both targets from the capacity model for the destinations and the proxy's settings", () => {
        const { targets, model } = resolveScaling({}, 3, forwarding);
        assert.deepEqual(model, scalingTargets({ destinations: 3, conntrackMax: forwarding.conntrackMax, timeWaitSeconds: forwarding.timeWaitTimeoutSeconds }));
        assert.deepEqual(targets, { newConnectionsPerSecond: 1382, conntrackUsedPercent: 35 });
        // A narrower NAT range (proxyNatPorts) lowers both.
        const narrow = resolveScaling({}, 3, parseChina({ proxyNatPorts: "33280-65535" }).forwarding).targets;
        assert.deepEqual(narrow, { newConnectionsPerSecond: 691, conntrackUsedPercent: 17 });
    });

    it("takes a target below its limit, and refuses one at or above it, naming the key, the limit and npm run capacity", () => {
        assert.deepEqual(resolveScaling({ newConnectionsPerSecond: 2000, conntrackUsedPercent: 60 }, 3, forwarding).targets,
            { newConnectionsPerSecond: 2000, conntrackUsedPercent: 60 });
        rejects(() => resolveScaling({ newConnectionsPerSecond: 2764 }, 3, forwarding), q("proxyScalingNewConnectionsTarget"),
            /2764 is not below the sustained new connections per second one proxy can NAT \(2764 for 3 destination\(s\)/, /npm run capacity/, /leave it unset for 1382/);
        rejects(() => resolveScaling({ conntrackUsedPercent: 72 }, 3, forwarding), q("proxyScalingConntrackTarget"),
            /72 is not below the conntrack fill at which a proxy's NAT ports or table run out \(71\.7 for 3/);
        // One NLB-1 address: a third of the NAT space, so 30 % is already past it.
        rejects(() => resolveScaling({ conntrackUsedPercent: 30 }, 1, forwarding), q("proxyScalingConntrackTarget"), /\(23\.9 for 1 destination/);
    });
});
