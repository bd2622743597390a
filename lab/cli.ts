// npm run lab [-- --keep] [--proxies 2] [--destinations 3] [--connections 600]
// npm run lab -- --down RUN_ID        remove a lab left up with --keep
// npm run lab -- --list               list labs present on this host
//
// Brings the forwarding lab up (see lab/topology.ts), sends requests through it as a user would, shows
// what the user sees and how connections spread, then removes everything (also on failure or Ctrl-C)
// and checks that the host has no extra namespace, link or rule. Root only.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { isUsageError, parseFlags } from "../core/cli";
import { InvalidValueError } from "../core/validate";
import { isRoot } from "./exec";
import { chiSquareTest } from "./stats";
import { DOMAIN, NAME_PREFIX, PUBLIC_ADDRESSES, REPO_ROOT, USER_HOST, VIP } from "./constants";
import { burst } from "./drivers";
import { hostDifferences, hostSnapshot } from "./host";
import { createLab, Lab, labDir, newRunId } from "./lab";
import { dnatCounters } from "./netfilter";
import { missingPrerequisites } from "./prerequisites";
import { NLB1_CHAIN, NLB2_CHAIN } from "./standins";
import { detach, namespacesWithPrefix, teardown } from "./teardown";
import { CHAINS } from "../proxy/rules";
import { intFlag } from "./flags";

const USAGE = `usage: npm run lab [-- --keep] [--proxies N (1-8, default 2)] [--destinations N (1-${PUBLIC_ADDRESSES.length}, default 3)]
                   [--connections N (default 600)]
       npm run lab -- --down RUN_ID
       npm run lab -- --list`;

function listLabs(): string[] {
    const ids = new Set<string>();
    for (const name of namespacesWithPrefix(NAME_PREFIX.replace(/-$/, ""))) {
        const m = /^crp-([0-9a-f]{6})-/.exec(name);
        if (m) ids.add(m[1]);
    }
    return [...ids];
}

function down(runId: string): number {
    if (!/^[0-9a-f]{6}$/.test(runId)) throw new InvalidValueError("--down", `a run id is 6 hex digits, got '${runId}'`);
    const problems = teardown(`${NAME_PREFIX}${runId}`, labDir(runId));
    if (problems.length) {
        console.error(problems.join("\n"));
        return 1;
    }
    console.log(`lab ${runId} removed: no namespace ${NAME_PREFIX}${runId}-* left, ${labDir(runId)} deleted`);
    return 0;
}

const sum = (xs: Iterable<number>) => [...xs].reduce((s, x) => s + x, 0);
const pad = (s: string | number, n: number) => String(s).padEnd(n);

function demo(lab: Lab, destinationCount: number, connections: number): void {
    const { state } = lab;
    const destinations = state.publicAddresses.slice(0, destinationCount);
    const renderArgs = ["--destinations", destinations.join(","), "--ports", "80,443", "--format", "script"];
    console.log(`\nEach proxy runs exactly: npm run --silent proxy:render -- ${renderArgs.join(" ")}`);
    lab.applyToAllProxies(destinations);
    for (const p of state.proxies) {
        console.log(`  ${p.ns}: ${p.inInterface} ${p.inAddress} (from NLB-2), ${p.outInterface} ${p.outAddress} (to NLB-1)`);
    }
    console.log(`NLB-1 stand-in owns ${destinations.join(", ")}, each DNATed to an ALB node (${state.albNodes.slice(0, destinationCount).join(", ")})`);

    console.log(`\nWhat the user sees (from ${state.ns.client}):`);
    const curl = `curl --cacert ${state.caCert} --resolve ${USER_HOST}:443:${VIP} https://${USER_HOST}/ip`;
    console.log(`  $ ${curl}`);
    const origins = new Map<string, number>();
    for (let i = 0; i < 8; i++) {
        const r = lab.userCurl(`https://${USER_HOST}/ip`);
        if (r.status !== 0) throw new Error(`curl failed (exit ${r.status}): ${r.stderr.trim()}`);
        const origin = (JSON.parse(r.stdout) as { origin: string }).origin;
        if (i < 3) console.log(`  ${r.stdout.trim()}`);
        origins.set(origin, (origins.get(origin) ?? 0) + 1);
    }
    const proxyOf = (addr: string) => state.proxies.find(p => p.outAddress === addr)?.ns ?? "NOT A PROXY";
    console.log(`  8 requests, origin as httpbin reports it: ${[...origins].map(([o, n]) => `${o} (${proxyOf(o)}) x${n}`).join(", ")}`);
    const anything = lab.userCurl(`https://test.${DOMAIN}/anything?via=lab`);
    if (anything.status !== 0) throw new Error(`curl failed: ${anything.stderr}`);
    const body = JSON.parse(anything.stdout) as { headers: Record<string, string>; origin: string };
    console.log(`  the global name too: https://test.${DOMAIN}/anything -> Host ${body.headers.Host}, origin ${body.origin}`);

    console.log(`\nHow ${connections} new connections (${state.ns.client} -> ${VIP}:80) spread:`);
    const delta = (a: Map<string, number>, b: Map<string, number>) => new Map([...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)]));
    const before = lab.publicCounters();
    const nlb2Before = dnatCounters(state.ns.nlb2, NLB2_CHAIN);
    const proxiesBefore = state.proxies.map(p => dnatCounters(p.ns, CHAINS.destinations));
    const tally = burst(state.ns.client, VIP, 80, connections);
    console.log(`  connected ${tally.ok}, failed ${tally.failed}, in ${(tally.elapsedMs / 1000).toFixed(2)} s`);
    const byProxy = delta(dnatCounters(state.ns.nlb2, NLB2_CHAIN), nlb2Before);
    console.log(`  NLB-2 stand-in over the proxies: ${state.proxies.map(p => `${p.ns.slice(state.prefix.length + 1)} ${byProxy.get(p.inAddress) ?? 0}`).join(", ")}`);
    console.log(`  ${pad("destination", 16)}${state.proxies.map(p => pad(p.ns.slice(state.prefix.length + 1), 9)).join("")}${pad("total", 8)}NLB-1 saw`);
    const perProxy = state.proxies.map((p, i) => delta(dnatCounters(p.ns, CHAINS.destinations), proxiesBefore[i]));
    const after = lab.publicCounters();
    const totals = destinations.map(d => sum(perProxy.map(m => m.get(d) ?? 0)));
    destinations.forEach((d, i) => {
        console.log(`  ${pad(d, 16)}${perProxy.map(m => pad(m.get(d) ?? 0, 9)).join("")}${pad(totals[i], 8)}${(after.get(d) ?? 0) - (before.get(d) ?? 0)}`);
    });
    if (destinations.length > 1) {
        const chi = chiSquareTest(totals);
        console.log(`  (counted by the proxies' ${CHAINS.destinations} rules, iptables -t nat -L ${CHAINS.destinations} -v -x -n)`);
        console.log(`  chi-square against an even split: ${chi.statistic.toFixed(2)} with ${chi.df} df, p = ${chi.p.toPrecision(3)}`);
    }
}

function printKeep(lab: Lab): void {
    const { state } = lab;
    const p0 = state.proxies[0];
    console.log(`
The lab stays up (run id ${state.runId}). Poke at it as root:
  ip netns exec ${state.ns.client} curl --cacert ${state.caCert} --resolve ${USER_HOST}:443:${VIP} https://${USER_HOST}/ip
  ip netns exec ${state.ns.client} curl --cacert ${state.caCert} --resolve ${USER_HOST}:443:${p0.inAddress} https://${USER_HOST}/anything
  ip netns exec ${p0.ns} iptables -t nat -L ${CHAINS.destinations} -v -x -n
  ip netns exec ${p0.ns} iptables-save
  ip netns exec ${p0.ns} conntrack -L
  ip netns exec ${state.ns.nlb1} iptables -t nat -L ${NLB1_CHAIN} -v -x -n
  tail -f ${state.albAccessLog}
  ip netns list | grep ${state.prefix}
Remove it:
  sudo npm run lab -- --down ${state.runId}
(or by hand: kill the pids of 'ip netns pids NS', then 'ip netns del NS' for each ${state.prefix}-* namespace, and rm -r ${state.dir})`);
}

interface Options {
    readonly keep: boolean;
    readonly down?: string;
    readonly list: boolean;
    readonly help: boolean;
    readonly proxies: number;
    readonly destinations: number;
    readonly connections: number;
    /** Internal: this process is the worker of a supervising `npm run lab` process, for this run id. */
    readonly worker?: string;
}

function parseOptions(argv: string[]): Options {
    const { values, help } = parseFlags(argv, {
        keep: { type: "boolean" },
        down: { type: "string" },
        list: { type: "boolean" },
        proxies: { type: "string" },
        destinations: { type: "string" },
        connections: { type: "string" },
        worker: { type: "string" },
    });
    return {
        keep: values.keep ?? false,
        down: values.down,
        list: values.list ?? false,
        help,
        proxies: intFlag("proxies", values.proxies, 2, 1, 8),
        destinations: intFlag("destinations", values.destinations, 3, 1, PUBLIC_ADDRESSES.length),
        connections: intFlag("connections", values.connections, 600, 1, 100_000),
        worker: values.worker,
    };
}

/** The worker: builds the lab, runs the demo, removes the lab unless --keep. Exit 0 only on success. */
function worker(options: Options, runId: string): number {
    const lab = createLab({ runId, proxies: options.proxies, log: line => console.log(line) });
    try {
        demo(lab, options.destinations, options.connections);
    } catch (err) {
        console.error(`\nlab run failed: ${(err as Error).message}`);
        lab.destroy();
        return 1;
    }
    if (options.keep) {
        detach(lab);
        printKeep(lab);
    } else {
        lab.destroy();
    }
    return 0;
}

/**
 * The supervisor: runs the worker in its own process group and waits for it without blocking, so that a
 * Ctrl-C or SIGTERM is handled at once: it stops the worker's group, removes every namespace and the
 * directory of the run (whatever state the worker reached), then checks the host.
 */
function supervise(options: Options, argv: string[]): Promise<number> {
    const runId = newRunId();
    const prefix = `${NAME_PREFIX}${runId}`;
    const hostBefore = hostSnapshot();
    const started = Date.now();
    const child = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), __filename, ...argv, "--worker", runId],
        { stdio: "inherit", detached: true, env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") } });
    return new Promise<number>(resolve => {
        let interrupted: NodeJS.Signals | undefined;
        const finish = (workerStatus: number) => {
            const keep = options.keep && workerStatus === 0 && !interrupted;
            if (keep) return resolve(0);
            const problems = teardown(prefix, labDir(runId));
            const differences = hostDifferences(hostBefore, hostSnapshot(), prefix);
            console.log(`\nlab ${runId} ${interrupted ? `interrupted (${interrupted}) and ` : ""}removed after ${((Date.now() - started) / 1000).toFixed(1)} s.`);
            if (problems.length || differences.length) {
                console.error(`The host differs from before the run:\n  ${[...problems, ...differences].join("\n  ")}`);
                return resolve(1);
            }
            console.log("Host check: no extra namespace, link or netfilter rule (ip netns list, ip -o link, iptables-save and nft list ruleset compared with before the run).");
            resolve(interrupted ? (interrupted === "SIGINT" ? 130 : 143) : workerStatus);
        };
        child.on("exit", (code, signal) => finish(code ?? (signal ? 1 : 0)));
        for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
            process.on(signal, () => {
                if (interrupted) return;
                interrupted = signal;
                console.error(`\n${signal}: stopping the lab run and removing lab ${runId}`);
                try { process.kill(-child.pid!, "SIGTERM"); } catch { /* already gone */ }
                setTimeout(() => { try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ } }, 5000).unref();
            });
        }
    });
}

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    const options = parseOptions(argv);
    if (options.help) {
        console.log(USAGE);
        return 0;
    }
    if (!isRoot()) {
        console.error("The lab creates network namespaces and netfilter rules: run it as root, e.g. sudo npm run lab");
        return 1;
    }
    if (options.list) {
        const ids = listLabs();
        console.log(ids.length ? ids.map(id => `${id}   (remove: sudo npm run lab -- --down ${id})`).join("\n") : "no lab on this host");
        return 0;
    }
    if (options.down !== undefined) return down(options.down);
    if (options.worker !== undefined) return worker(options, options.worker);
    const missing = missingPrerequisites();
    if (missing.length) {
        console.error(`The lab needs:\n  ${missing.join("\n  ")}`);
        return 1;
    }
    return supervise(options, argv);
}

main().then(code => process.exit(code), err => {
    if (isUsageError(err)) {
        console.error(`lab: ${(err as Error).message}\n${USAGE}`);
        process.exit(2);
    }
    console.error(`lab: ${(err as Error).stack ?? err}`);
    process.exit(1);
});
