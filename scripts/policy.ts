// `npm run policy`: the policy pack over both stacks in both partitions, offline (see offline/policy.ts).
import { SCENARIOS, checkScenario } from "../offline/policy";

const USAGE = `usage: npm run policy [-- --help]
Runs every policy of policy/ over the resources the real program declares under the mocks, for the
global and china stacks in an aws and an aws-cn region. Exit 0 when no policy reports a violation, 1 otherwise.`;

async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        console.log(USAGE);
        return 0;
    }
    if (argv.length > 0) {
        console.error(`policy: unknown argument '${argv[0]}'\n${USAGE}`);
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
