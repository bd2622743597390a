// The README is the config reference and the quickstart: keep it true to the code.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ROLES } from "../config";
import { CHINA_KEYS } from "../config/china";
import { GLOBAL_KEYS } from "../config/global";

const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");

describe("README", () => {
    it("documents every config key of both stacks in its tables", () => {
        // The first cell of a table row names the key (several keys may share a row).
        const firstCells = readme.split("\n").filter(l => l.startsWith("| `")).map(l => l.split("|")[1]);
        for (const key of new Set([...GLOBAL_KEYS, ...CHINA_KEYS])) {
            assert.ok(firstCells.some(cell => cell.includes(`\`${key}\``)), `README documents ${key}`);
        }
    });

    it("starts with the two commands of the quickstart: the offline plan, then the tests", () => {
        const commands = /^```bash\n(.*)\n(.*)\n```/m.exec(readme);
        assert.ok(commands && readme.indexOf(commands[0]) < readme.indexOf("\n## "), "a bash block before the first section");
        assert.match(commands[1], /^npm ci && npm run plan\b/);
        assert.match(commands[2], /^npm test\b/);
    });

    it("matches Pulumi.yaml: it declares the one key every stack needs (role), without a default, as README documents it", () => {
        const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as
            { config?: Record<string, { type?: string; description?: string; default?: unknown }> };
        // Declared keys apply to every stack: only one that both roles read and require.
        assert.deepEqual(Object.keys(project.config ?? {}), ["role"]);
        assert.ok(GLOBAL_KEYS.includes("role") && CHINA_KEYS.includes("role"));
        const role = project.config!.role;
        assert.equal(role.type, "string");
        assert.ok(!("default" in role), "a default would apply to both stacks");
        for (const r of ROLES) assert.match(role.description ?? "", new RegExp(`\\b${r}\\b`));
        assert.match(readme, /^\| `role` \| `global` \\\| `china` \|/m);
    });
});
