// The README is the config reference and the quickstart: keep it true to the code.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
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
});
