// Conventions every command line here follows: --help prints the usage on stdout and exits 0, a flag given
// twice is an error (the second value would silently win), and bad input exits 2 with the message and the
// usage on stderr.
import { parseArgs } from "node:util";
import { InvalidValueError } from "./validate";

/** A string flag with `multiple` may be repeated (each occurrence adds a value); any other flag may not. */
type Flag = { readonly type: "string"; readonly multiple?: true } | { readonly type: "boolean" };
type Values<O extends Record<string, Flag>> = {
    [K in keyof O]?: O[K] extends { type: "boolean" } ? boolean : O[K] extends { multiple: true } ? string[] : string
};

export interface ParsedFlags<O extends Record<string, Flag>> {
    readonly values: Values<O>;
    readonly positionals: string[];
    /** --help (or -h) was given: print the usage and exit 0. */
    readonly help: boolean;
}

/** node:util parseArgs in strict mode, plus --help and the repeated-flag check. */
export function parseFlags<O extends Record<string, Flag>>(argv: readonly string[], options: O, allowPositionals = false): ParsedFlags<O> {
    const { values, positionals, tokens } = parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals,
        tokens: true,
        options: { ...options, help: { type: "boolean", short: "h" } },
    });
    const seen = new Set<string>();
    for (const token of tokens) {
        if (token.kind !== "option" || (options[token.name] as { multiple?: true } | undefined)?.multiple) continue;
        if (seen.has(token.name)) {
            throw new InvalidValueError(`--${token.name}`, "is given more than once: give each flag once");
        }
        seen.add(token.name);
    }
    const { help, ...rest } = values as Record<string, string | boolean | undefined>;
    return { values: rest as Values<O>, positionals, help: help === true };
}

/** Whether an error is the user's input (exit 2 with the usage) rather than a failure of the command. */
export function isUsageError(err: unknown): boolean {
    return err instanceof InvalidValueError || ((err as { code?: unknown })?.code as string | undefined ?? "").startsWith("ERR_PARSE_ARGS");
}
