// Runs the real program of both stacks under the offline mocks and prints, as one JSON line, what each
// declared (see lab/declared.ts). Its own process: Pulumi mocks are process-global, and the lab runs
// inside mocha and CLI processes that must not have theirs replaced.
import { runStack } from "../../offline/run";
import { DeclaredStacks, LAB_CHINA_OVERRIDES } from "../declared";

async function main(): Promise<void> {
    const global = await runStack("global");
    const china = await runStack("china", {
        overrides: LAB_CHINA_OVERRIDES,
        stackOutputs: global.outputs,
    });
    const result: DeclaredStacks = { global: global.resources, china: china.resources };
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch(err => {
    process.stderr.write(`declare: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
});
