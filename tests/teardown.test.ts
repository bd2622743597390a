// The lab's cleanup registry (lab/teardown.ts), without root: a registered lab is removed on a signal and
// at exit, and the process then dies of that signal (no process.exit in the library, so mocha stops as a
// Ctrl-C stops it). A child process stands in for the lab's process, with a fake lab that writes a file.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

function child(program: string, signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; removed: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crp-teardown-"));
    const marker = path.join(dir, "removed");
    const source = `
        const { registerActive, detach } = require(${JSON.stringify(path.join(ROOT, "lab/teardown"))});
        const fs = require("node:fs");
        const lab = (name) => ({ destroy: () => fs.appendFileSync(${JSON.stringify(marker)}, name + "\\n") });
        ${program}
    `;
    return new Promise((resolve, reject) => {
        const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", source],
            { cwd: ROOT, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") }, stdio: ["ignore", "pipe", "pipe"] });
        proc.stdout.on("data", (d: Buffer) => { if (signal && d.toString().includes("ready")) proc.kill(signal); });
        proc.on("error", reject);
        proc.on("exit", (code, sig) => {
            const removed = fs.existsSync(marker) ? fs.readFileSync(marker, "utf8") : "";
            fs.rmSync(dir, { recursive: true, force: true });
            resolve({ code, signal: sig, removed });
        });
    });
}

describe("lab cleanup on signals and exit (lab/teardown.ts)", function () {
    this.timeout(60000);

    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        it(`${signal}: removes every live lab once, then the process dies of ${signal}`, async () => {
            const r = await child(`registerActive(lab("a")); registerActive(lab("b")); console.log("ready"); setInterval(() => {}, 1000);`, signal);
            assert.equal(r.signal, signal);
            assert.equal(r.removed, "a\nb\n");
        });
    }

    it("a normal exit removes live labs, a detached (--keep) lab stays", async () => {
        const r = await child(`registerActive(lab("a")); const kept = lab("kept"); registerActive(kept); detach(kept);`);
        assert.equal(r.code, 0);
        assert.equal(r.removed, "a\n");
    });
});
