// `npm run urns`: what a `pulumi up` of the current program would do to the URNs of each recorded layout
// (the current list and every deployed release), resolving aliases as the engine does (offline/urns.ts).
import * as fs from "node:fs";
import { isUsageError, parseFlags } from "../core/cli";
import { DeclaredResource } from "../offline/mocks";
import { runStack } from "../offline/run";
import { CURRENT_HEADER, STACKS, StackName, URN_SCENARIOS, currentUrnFile, deployedLayouts, readUrns, shownPath } from "../offline/urnScenarios";
import { migrate } from "../offline/urns";

const USAGE = `usage: npm run --silent urns [-- --write] [--help]
Runs both stacks under the mocks and compares the URNs they register with the recorded ones
(tests/fixtures/urns/): the current list and each deployed release. Prints what would be created, adopted
through an alias, and deleted. Exit 1 when a recorded URN would be deleted or an alias conflicts.
--write  records the URNs the program registers now as the current list (refused while any would be deleted).`;

const short = (urn: string) => urn.split("::").slice(2).join("::");

async function main(argv: string[]): Promise<number> {
    const { values, help } = parseFlags(argv, { write: { type: "boolean" } });
    if (help) {
        console.log(USAGE);
        return 0;
    }
    let failed = false;
    const registered = new Map<StackName, DeclaredResource[]>();
    for (const stack of STACKS) {
        const { resources } = await runStack(stack, URN_SCENARIOS[stack]);
        registered.set(stack, resources);
        const current = fs.existsSync(currentUrnFile(stack)) ? readUrns(currentUrnFile(stack)) : [];
        for (const layout of [{ file: currentUrnFile(stack), urns: current }, ...deployedLayouts(stack)]) {
            const { adopted, deleted, created, conflicts } = migrate(layout.urns, resources);
            const renamed = [...adopted].filter(([now, was]) => now !== was);
            console.log(`${stack} from ${shownPath(layout.file)}: ${adopted.size - renamed.length} kept, ${renamed.length} through an alias, ${created.length} created, ${deleted.length} deleted`);
            for (const [now, was] of renamed) console.log(`  alias   ${short(was)}\n       -> ${short(now)}`);
            for (const urn of created) console.log(`  create  ${short(urn)}`);
            for (const urn of deleted) console.log(`  DELETE  ${short(urn)}`);
            for (const conflict of conflicts) console.log(`  CONFLICT ${conflict}`);
            failed ||= deleted.length > 0 || conflicts.length > 0;
        }
    }
    if (values.write && failed) {
        console.error("urns: nothing written while a recorded URN would be deleted: add an alias");
    } else if (values.write) {
        for (const [stack, resources] of registered) {
            fs.writeFileSync(currentUrnFile(stack), CURRENT_HEADER(stack) + resources.map(r => r.urn).sort().join("\n") + "\n");
            console.log(`wrote ${shownPath(currentUrnFile(stack))}`);
        }
    }
    return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(code => { process.exitCode = code; }, error => {
    console.error(isUsageError(error) ? `urns: ${(error as Error).message}\n${USAGE}` : error);
    process.exitCode = isUsageError(error) ? 2 : 1;
});
