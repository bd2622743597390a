// The one stack-file reader (offline/stackFile.ts), used by the plan and the mocked tests, on files as
// `pulumi stack init` and `pulumi config set [--secret]` write them.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { UNDECRYPTED_SECRET } from "../config/reader";
import { runStack } from "../offline/run";
import { parseStackFile, readStackFile } from "../offline/stackFile";
import { one } from "./stackHelpers";

const FIXTURES = path.join(__dirname, "fixtures", "stacks");
const fixture = (stack: string) => path.join(FIXTURES, `Pulumi.${stack}.yaml`);

describe("stack files as Pulumi writes them", () => {
    it("hands values over as the CLI does: strings as written, numbers and booleans as text, lists and objects as JSON", () => {
        const { values, secretKeys } = readStackFile(fixture("global"));
        assert.equal(values["cross-region-proxy:nodeDesiredSize"], "3");
        assert.equal(values["cross-region-proxy:nodeMaxSize"], "6");
        assert.equal(values["cross-region-proxy:listenerPorts"], "[443]");
        assert.deepEqual(JSON.parse(values["cross-region-proxy:existingVpc"]), {
            privateSubnetIds: ["subnet-0a1b2c3d4e5f60721", "subnet-0a1b2c3d4e5f60722"],
            publicSubnetIds: ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60712"],
            vpcId: "vpc-0a1b2c3d4e5f60718",
        });
        assert.deepEqual(secretKeys, []);
        assert.ok(!("encryptionsalt" in values) && Object.keys(values).every(k => k.includes(":")), "only config keys");
    });

    it("keeps a multi-line PEM block as written, and turns every secure value into a secret placeholder", () => {
        const text = fs.readFileSync(fixture("china"), "utf8");
        const { values, secretKeys } = parseStackFile(text, "Pulumi.china.yaml");
        assert.match(values["cross-region-proxy:cloudfrontCertificateBody"], /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
        assert.equal(values["cross-region-proxy:cloudfrontEnabled"], "true");
        assert.equal(values["cross-region-proxy:cloudfrontPrivateKey"], UNDECRYPTED_SECRET);
        assert.deepEqual(secretKeys, ["cross-region-proxy:cloudfrontPrivateKey"]);
        const ciphertext = /secure: (\S+)/.exec(text)?.[1] ?? "";
        assert.ok(ciphertext.length > 10 && !JSON.stringify(values).includes(ciphertext), "the ciphertext is not passed on");
    });

    it("marks a value secret when an encrypted value sits inside an object", () => {
        const { values, secretKeys } = parseStackFile("config:\n  app:creds:\n    user: me\n    password:\n      secure: v1:abc\n", "f");
        assert.deepEqual(JSON.parse(values["app:creds"]), { user: "me", password: UNDECRYPTED_SECRET });
        assert.deepEqual(secretKeys, ["app:creds"]);
    });

    it("ignores the other top-level keys and accepts a file without config", () => {
        assert.deepEqual(parseStackFile("secretsprovider: awskms://alias/x\nencryptedkey: abc\n", "f"), { values: {}, secretKeys: [] });
    });

    for (const [what, text, gist] of [
        ["YAML that does not parse", "config:\n  a:b: [1,\n", /f: not valid YAML/],
        ["a config that is a list", "config:\n  - a\n", /f: 'config' must be a map/],
        ["a key without a namespace", "config:\n  region: x\n", /config key 'region' is not namespace:key/],
    ] as const) {
        it(`refuses ${what}, naming the file`, () => assert.throws(() => parseStackFile(text, "f"), gist));
    }

    it("runs both programs on those files: existingVpc used, the secret key a secret the plan never sees", async () => {
        const global = await runStack("global", { stackFile: fixture("global") });
        assert.equal(global.resources.filter(r => r.type === "aws:ec2/vpc:Vpc").length, 0, "the existing VPC, none created");
        assert.deepEqual(one(global.resources, "aws:lb/listener:Listener", "nlb1-443").inputs.port, 443);
        const china = await runStack("china", { stackFile: fixture("china"), stackOutputs: global.outputs });
        const certificate = one(china.resources, "aws:iam/serverCertificate:ServerCertificate");
        assert.equal(certificate.inputs.privateKey["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", "a secret");
    });
});
