// Command-line flags of `npm run bench`: checked before anything is built; a usage error exits 2.
import { parseFlags } from "../core/cli";
import { InvalidValueError } from "../core/validate";
import { intFlag } from "../lab/flags";

export const PATH_NAMES = ["routed", "script", "haproxy", "nginx"] as const;
export type PathName = typeof PATH_NAMES[number];

export const USAGE = `usage: sudo npm run bench [-- options]
  --rounds N            ABBA rounds over the paths (3-9, default 3)
  --seconds N           sustained new-connection load per measurement, s (5-300, default 20)
  --keepalive-seconds N keep-alive request load per measurement, s (2-60, default 5)
  --bulk-seconds N      iperf3 bulk transfer per measurement, s (2-60, default 5)
  --clients N           client namespaces, one address each (1-64, default 16)
  --connections N       connections each client keeps busy (1-64, default 2)
  --destinations N      NLB-1 addresses behind every path (1-6, default 3)
  --paths LIST          comma-separated subset of ${PATH_NAMES.join(",")} (default all)
  --render="FLAGS"      extra proxy:render flags for the script path, e.g. --render="--time-wait-timeout 120"
  --json FILE           write the raw figures (every measurement, counters, machine) to FILE
  --chart FILE          write the SVG chart to FILE (default docs/benchmarks.svg)
  --chart-from FILE     only render the chart from a JSON written by --json (no root, no lab)
  --help                this text`;

export interface BenchOptions {
    readonly rounds: number;
    readonly seconds: number;
    readonly keepaliveSeconds: number;
    readonly bulkSeconds: number;
    readonly clients: number;
    readonly connections: number;
    readonly destinations: number;
    readonly paths: readonly PathName[];
    readonly render: readonly string[];
    readonly json?: string;
    readonly chart: string;
    readonly chartFrom?: string;
    readonly help: boolean;
}

const STRING_FLAGS = ["rounds", "seconds", "keepalive-seconds", "bulk-seconds", "clients", "connections", "destinations",
    "paths", "render", "json", "chart", "chart-from"] as const;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
    const { values, positionals, help } = parseFlags(argv,
        Object.fromEntries(STRING_FLAGS.map(f => [f, { type: "string" as const }])) as Record<typeof STRING_FLAGS[number], { type: "string" }>,
        true);
    if (positionals.length) throw new InvalidValueError(positionals[0], "is not a flag: flags start with --");
    const str = (k: typeof STRING_FLAGS[number]) => values[k];
    const paths = str("paths") === undefined ? [...PATH_NAMES] : str("paths")!.split(",").map(s => s.trim());
    for (const p of paths) {
        if (!(PATH_NAMES as readonly string[]).includes(p)) throw new InvalidValueError("--paths", `unknown path '${p}' (known: ${PATH_NAMES.join(", ")})`);
    }
    if (new Set(paths).size !== paths.length || paths.length === 0) throw new InvalidValueError("--paths", "each path at most once, at least one");
    const render = (str("render") ?? "").split(/\s+/).filter(Boolean);
    for (const r of render) {
        // Passed as argv to the renderer (never a shell); still, only flag-shaped words belong here.
        if (!/^[A-Za-z0-9=,.:_-]+$/.test(r)) throw new InvalidValueError("--render", `unexpected word '${r}'`);
    }
    const file = (k: typeof STRING_FLAGS[number]) => {
        const f = str(k);
        if (f !== undefined && f.trim() === "") throw new InvalidValueError(`--${k}`, "expected a file name");
        return f;
    };
    return {
        rounds: intFlag("rounds", str("rounds"), 3, 3, 9),
        seconds: intFlag("seconds", str("seconds"), 20, 5, 300),
        keepaliveSeconds: intFlag("keepalive-seconds", str("keepalive-seconds"), 5, 2, 60),
        bulkSeconds: intFlag("bulk-seconds", str("bulk-seconds"), 5, 2, 60),
        clients: intFlag("clients", str("clients"), 16, 1, 64),
        connections: intFlag("connections", str("connections"), 2, 1, 64),
        destinations: intFlag("destinations", str("destinations"), 3, 1, 6),
        paths: paths as PathName[],
        render,
        json: file("json"),
        chart: file("chart") ?? "docs/benchmarks.svg",
        chartFrom: file("chart-from"),
        help,
    };
}
