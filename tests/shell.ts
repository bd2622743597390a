// Pieces of a rendered bash program (the forwarding script or the agent), to run alone in the tests.
import { strict as assert } from "node:assert";

/** A function of a rendered program, by name (a one-line definition or a block ending in a line "}"). */
export function functionOf(program: string, name: string): string {
    const start = program.indexOf(`\n${name}() {`);
    assert.ok(start >= 0, `the program defines ${name}()`);
    const lineEnd = program.indexOf("\n", start + 1);
    if (program.slice(start, lineEnd).endsWith("}")) return program.slice(start, lineEnd + 1);
    const end = program.indexOf("\n}\n", start) + 3;
    assert.ok(end > start, `${name}() ends`);
    return program.slice(start, end);
}

/** The program's data (destinations, regions, ports) and the functions that turn a healthy set into the document:
 *  `weigh HEALTHY...` sets rotation=(...), `document "${rotation[@]}"` prints it (define jump_repairs first). */
export function shellFunctions(program: string): string {
    const data = program.match(/^(destinations|region_[a-z]+|ports)=\(.*\)$/gm);
    assert.ok(data && data.length === 7, "the program's data arrays");
    return `${data.join("\n")}\n${["gcd", "pick", "weigh", "probability", "destination_rules", "document"].map(f => functionOf(program, f)).join("")}`;
}
