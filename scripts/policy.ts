// `npm run policy`: the policy pack over both stacks in both partitions, offline (see offline/policy.ts).
import { SCENARIOS, checkScenario, packConfigFor } from "../offline/policy";
import { readStackConfig } from "../offline/run";

const USAGE = `usage: npm run --silent policy [-- --pack-config STACK | --help]
Runs every policy of policy/ over the resources the real program declares under the mocks, for the
global and china stacks in an aws and an aws-cn region. Exit 0 when no policy reports a violation, 1 otherwise.
--pack-config STACK  prints the pack's config implied by Pulumi.STACK.yaml (for pulumi --policy-pack-config) and exits.`;

async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        console.log(USAGE);
        return 0;
    }
    if (argv[0] === "--pack-config" && argv.length === 2) {
        console.log(JSON.stringify(packConfigFor(readStackConfig(argv[1]).values), null, 2));
        return 0;
    }
    if (argv.length > 0) {
        console.error(`policy: unexpected arguments '${argv.join(" ")}'\n${USAGE}`);
        return 2;
    }
    let failed = 0;
    for (const scenario of SCENARIOS) {
        const violations = await checkScenario(scenario);
        console.log(`${violations.length === 0 ? "pass" : "FAIL"}  ${scenario.label}`);
        for (const v of violations) console.log(`      ${v.policy}: ${v.resource.split("::").pop()}: ${v.message}`);
        failed += violations.length;
    }
    return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(code => { process.exitCode = code; }, error => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
});
