// Reads iptables-save output (and the iptables-restore documents we render, which share its grammar) into
// typed tables, chains and rules, in the spirit of kube-proxy's pkg/util/iptables/testing/parse.go. Pure, so
// the renderer's tests, the lab (reading a namespace back) and the bench share one reader. Strict mode
// rejects any line or rule option it does not know, so a test cannot pass by skipping what it misread.

export interface Counters {
    readonly packets: number;
    readonly bytes: number;
}

export interface Chain {
    readonly name: string;
    /** ACCEPT, DROP... for a builtin chain; "-" for a user-defined one. */
    readonly policy: string;
    readonly counters: Counters;
}

export interface Rule {
    readonly chain: string;
    /** The rule as written after its counters: "-A CHAIN ...". */
    readonly line: string;
    /** The line split as iptables-restore splits it: a double-quoted string is one token, unquoted. */
    readonly tokens: readonly string[];
    /** Present when the dump was taken with -c (iptables-save -c). */
    readonly counters?: Counters;
    readonly protocol?: string;
    readonly source?: string;
    readonly destination?: string;
    readonly inInterface?: string;
    readonly outInterface?: string;
    /** Match modules (-m), in order. */
    readonly matches: readonly string[];
    /** --dport or --dports. */
    readonly destinationPorts?: string;
    readonly comment?: string;
    /** The statistic match's probability as written (iptables prints back 11 digits). */
    readonly probability?: string;
    /** The -j target: a chain or an extension such as DNAT. */
    readonly jump?: string;
    readonly toDestination?: string;
    readonly toPorts?: string;
    /** Every --option of the rule with its value (true for a flag such as --random-fully). */
    readonly options: ReadonlyMap<string, string | true>;
}

export interface Table {
    readonly name: string;
    readonly chains: readonly Chain[];
    readonly rules: readonly Rule[];
}

export class IptablesSaveError extends Error {
    constructor(readonly lineNumber: number, readonly text: string, detail: string) {
        super(`iptables-save line ${lineNumber}: ${detail}: ${text}`);
        this.name = "IptablesSaveError";
    }
}

/** Options a rule may carry, with the number of values each takes; strict mode knows no others. */
const ARITY: ReadonlyMap<string, number> = new Map([
    ["-A", 1], ["-p", 1], ["-s", 1], ["-d", 1], ["-i", 1], ["-o", 1], ["-m", 1], ["-j", 1], ["-g", 1], ["!", 0],
    ["--dport", 1], ["--dports", 1], ["--sport", 1], ["--sports", 1], ["--dst-type", 1], ["--src-type", 1],
    ["--comment", 1], ["--mode", 1], ["--probability", 1], ["--every", 1], ["--packet", 1],
    ["--to-destination", 1], ["--to-source", 1], ["--to-ports", 1], ["--random", 0], ["--random-fully", 0],
    ["--set-xmark", 1], ["--mark", 1], ["--ctstate", 1], ["--state", 1], ["--tcp-flags", 2], ["--reject-with", 1],
]);

/** Chains every table may use without declaring them (an iptables-restore document appends to them). */
const BUILTIN_CHAINS: ReadonlySet<string> = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);

/** Splits like iptables-restore: on blanks, a double-quoted string (with \" escapes) being one token. */
export function tokenize(line: string): string[] {
    const tokens: string[] = [];
    const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
    for (let m = re.exec(line); m; m = re.exec(line)) {
        tokens.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]);
    }
    return tokens;
}

const COUNTERS = /^\[(\d+):(\d+)\]$/;
const counters = (text: string): Counters | undefined => {
    const m = COUNTERS.exec(text);
    return m ? { packets: Number(m[1]), bytes: Number(m[2]) } : undefined;
};

/** One "-A CHAIN ..." rule (optionally preceded by its [packets:bytes]); throws a message on a bad rule. */
export function parseRule(text: string, strict = true): Rule {
    const [first, ...rest] = text.split(" ");
    const ruleCounters = counters(first);
    const line = ruleCounters ? rest.join(" ") : text;
    const tokens = tokenize(line);
    if (tokens[0] !== "-A" || tokens.length < 2) throw new Error("a rule starts with -A CHAIN");
    const options = new Map<string, string | true>();
    const matches: string[] = [];
    const fields: Record<string, string> = {};
    for (let i = 0; i < tokens.length;) {
        const token = tokens[i];
        const arity = ARITY.get(token);
        if (arity === undefined) {
            if (strict) throw new Error(`unknown option '${token}'`);
            const value = tokens[i + 1] !== undefined && !tokens[i + 1].startsWith("-") ? tokens[i + 1] : undefined;
            if (token.startsWith("--")) options.set(token, value ?? true);
            i += value === undefined ? 1 : 2;
            continue;
        }
        if (tokens.length < i + 1 + arity) throw new Error(`option '${token}' needs ${arity} value${arity > 1 ? "s" : ""}`);
        const value = tokens.slice(i + 1, i + 1 + arity).join(" ");
        if (token === "-m") matches.push(value);
        else if (token.startsWith("--")) options.set(token, arity ? value : true);
        else if (token !== "!") {
            if (fields[token] !== undefined) throw new Error(`option '${token}' given twice`);
            fields[token] = value;
        }
        i += 1 + arity;
    }
    const option = (name: string) => {
        const value = options.get(name);
        return typeof value === "string" ? value : undefined;
    };
    return {
        chain: fields["-A"], line, tokens, counters: ruleCounters,
        protocol: fields["-p"], source: fields["-s"], destination: fields["-d"], inInterface: fields["-i"], outInterface: fields["-o"],
        matches,
        destinationPorts: option("--dport") ?? option("--dports"),
        comment: option("--comment"),
        probability: option("--probability"),
        jump: fields["-j"] ?? fields["-g"],
        toDestination: option("--to-destination"),
        toPorts: option("--to-ports"),
        options,
    };
}

/**
 * Tables in the order of the dump. Strict (the default): every line must be a comment, `*table`,
 * `:CHAIN POLICY [p:b]`, a rule of a declared (or builtin) chain with known options, or `COMMIT`, and every table is
 * committed. Not strict: unknown options are kept in `options` and unknown lines skipped.
 */
export function parseIptablesSave(text: string, options: { strict?: boolean } = {}): Table[] {
    const strict = options.strict ?? true;
    const tables: Table[] = [];
    let current: { name: string; chains: Chain[]; rules: Rule[] } | undefined;
    text.split("\n").forEach((raw, index) => {
        const line = raw.trimEnd();
        const fail = (detail: string) => { throw new IptablesSaveError(index + 1, line, detail); };
        if (line === "" || line.startsWith("#")) return;
        if (line.startsWith("*")) {
            if (current) fail(`table ${current.name} is not committed`);
            if (tables.some(t => t.name === line.slice(1))) fail("table given twice");
            current = { name: line.slice(1), chains: [], rules: [] };
            return;
        }
        if (!current) return strict ? fail("outside a table") : undefined;
        if (line === "COMMIT") {
            tables.push(current);
            current = undefined;
        } else if (line.startsWith(":")) {
            const [name, policy, count, ...extra] = line.slice(1).split(" ");
            const parsed = count === undefined ? undefined : counters(count);
            if (!name || !policy || !parsed || extra.length) return fail("expected :CHAIN POLICY [packets:bytes]");
            if (current.chains.some(c => c.name === name)) fail(`chain ${name} declared twice`);
            current.chains.push({ name, policy, counters: parsed });
        } else if (line.startsWith("-A ") || line.startsWith("[")) {
            let rule: Rule;
            try {
                rule = parseRule(line, strict);
            } catch (err) {
                return fail((err as Error).message);
            }
            if (strict && !BUILTIN_CHAINS.has(rule.chain) && !current.chains.some(c => c.name === rule.chain)) fail(`chain ${rule.chain} is not declared`);
            current.rules.push(rule);
        } else if (strict) {
            fail("not a table, chain, rule or COMMIT line");
        }
    });
    if (current && strict) throw new IptablesSaveError(0, `*${current.name}`, `table ${current.name} is not committed`);
    return tables;
}

/** The rules of one chain of one table, in order (none when the table or chain is absent). */
export function rulesOf(tables: readonly Table[], table: string, chain: string): Rule[] {
    return tables.find(t => t.name === table)?.rules.filter(r => r.chain === chain) ?? [];
}

/** The names of the chains a table declares, builtin and user-defined. */
export function chainsOf(tables: readonly Table[], table: string): string[] {
    return tables.find(t => t.name === table)?.chains.map(c => c.name) ?? [];
}

/** A dump as comparable lines: no comments, no counters (iptables-save's text with those removed). */
export function withoutCounters(tables: readonly Table[]): string[] {
    return tables.flatMap(t => [
        `*${t.name}`,
        ...t.chains.map(c => `:${c.name} ${c.policy}`),
        ...t.rules.map(r => r.line),
        "COMMIT",
    ]);
}
