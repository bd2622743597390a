// The lab's command line follows the conventions of every CLI here (core/cli.ts), checked as a real process
// before anything needs root: --help prints the usage on stdout and exits 0; a repeated or bad flag exits 2.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

function lab(args: string[]) {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "lab/cli.ts", ...args],
        { cwd: ROOT, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") } });
}

describe("npm run lab (CLI conventions)", function () {
    this.timeout(60000);

    it("--help: exit 0, the usage on stdout, nothing started", () => {
        const r = lab(["--help"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^usage: npm run lab /);
        assert.equal(r.stderr, "");
    });

    it("a flag given twice: exit 2, the flag named, the usage on stderr", () => {
        const r = lab(["--proxies", "2", "--proxies", "3"]);
        assert.equal(r.status, 2, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^lab: --proxies: is given more than once[\s\S]*usage: npm run lab/);
    });

    it("a value out of range: exit 2, the flag and the range named", () => {
        const r = lab(["--proxies", "9"]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^lab: --proxies: expected an integer from 1 to 8, got '9'/);
    });
});
