// What the lab needs on the host (tools and the Debian packages that provide them), checked before it starts.
import * as crypto from "node:crypto";
import { isRoot, run, which } from "./exec";

/** Tools the lab needs on the host, with the Debian package that provides each. */
export const REQUIRED_TOOLS: ReadonlyArray<{ tool: string; pkg: string }> = [
    { tool: "ip", pkg: "iproute2" },
    { tool: "iptables", pkg: "iptables" },
    { tool: "iptables-save", pkg: "iptables" },
    { tool: "iptables-restore", pkg: "iptables" },
    { tool: "conntrack", pkg: "conntrack" },
    { tool: "curl", pkg: "curl" },
    { tool: "nginx", pkg: "nginx-light" },
    { tool: "openssl", pkg: "openssl" },
    { tool: "sysctl", pkg: "procps" },
    { tool: "bash", pkg: "bash" },
    { tool: "/usr/bin/python3", pkg: "python3" },
];

/** What is missing for the lab to run (tools, python modules), as human-readable lines. Empty when ready. */
export function missingPrerequisites(): string[] {
    const missing = REQUIRED_TOOLS.filter(t => !which(t.tool)).map(t => `${t.tool} (Debian package ${t.pkg})`);
    if (which("/usr/bin/python3")) {
        const probe = run("/usr/bin/python3", ["-c", "import httpbin, gunicorn"], { allowFailure: true, env: pythonEnv() });
        if (probe.status !== 0) {
            missing.push("python modules httpbin and gunicorn for /usr/bin/python3 (Debian packages python3-httpbin gunicorn)");
        }
    }
    return missing;
}

/** The Debian python must not see a pyenv or virtualenv's settings. */
export function pythonEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!/^(PYTHON|PYENV|VIRTUAL_ENV)/.test(k)) env[k] = v;
    }
    env.PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
    return env;
}

/** Why this host cannot create a network namespace (e.g. a container without CAP_SYS_ADMIN), or undefined. */
export function namespaceProblem(): string | undefined {
    const name = `crp-probe-${crypto.randomBytes(4).toString("hex")}`;
    const added = run("ip", ["netns", "add", name], { allowFailure: true });
    if (added.status !== 0) return `'ip netns add' fails here: ${added.stderr.trim() || `exit ${added.status}`}`;
    run("ip", ["netns", "del", name], { allowFailure: true });
    return undefined;
}

/**
 * For a lab suite's before(): skips the suite, saying why, when this process is not root or the host lacks
 * a tool; under CI=true (.ci/run, the workflows) either is a failure instead. `suite` names it in the message.
 */
export function requireLabOrSkip(context: Mocha.Context, suite: string): void {
    const ci = process.env.CI === "true";
    const cannot = (reason: string) => {
        if (ci) throw new Error(`CI=true and ${suite} cannot run: ${reason}`);
        console.log(`\n  ${reason}\n  (skipping ${suite}; in CI, CI=true makes this a failure)\n`);
        context.skip();
    };
    if (!isRoot()) cannot(`${suite} needs root (network namespaces, netfilter): sudo env PATH="$PATH" npm run test:lab`);
    const missing = missingPrerequisites();
    if (missing.length) cannot(`the lab needs: ${missing.join("; ")}`);
}
