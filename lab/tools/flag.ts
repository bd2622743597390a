// The one flag reader of the lab's small in-namespace tools (tcp.ts, stream.ts): `--name value`.
export function flag(args: string[], name: string, fallback?: string): string {
    const i = args.indexOf(`--${name}`);
    if (i >= 0 && i + 1 < args.length) return args[i + 1];
    if (fallback === undefined) throw new Error(`missing --${name}`);
    return fallback;
}
