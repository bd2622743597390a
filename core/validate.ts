// Pure validators shared by the stack config and the proxy renderer. Each names the key it checks,
// so a bad value fails before any resource exists with a message that says what to fix.

export class InvalidValueError extends Error {
    constructor(readonly key: string, readonly detail: string) {
        super(`${key}: ${detail}`);
        this.name = "InvalidValueError";
    }
}

const DOTTED_QUAD = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

/** The four octets of a canonical dotted quad (no leading zeros, which some tools read as octal), or undefined. */
export function parseIpv4(value: string): number[] | undefined {
    const match = DOTTED_QUAD.exec(value);
    if (!match) {
        return undefined;
    }
    const octets = match.slice(1).map(Number);
    return octets.every(o => o <= 255) ? octets : undefined;
}

/**
 * Why an address cannot be a forwarding destination, or undefined if it can. Private ranges pass here
 * (the renderer serves the lab's namespaces too; the china config refuses them without an opt-in, see
 * privateRangeOf); addresses that would turn the proxy into a path to itself, to the instance metadata
 * service or to nowhere never do.
 */
export function destinationProblem(value: string): string | undefined {
    const octets = parseIpv4(value);
    if (!octets) {
        return `'${printable(value)}' is not an IPv4 address (expected a dotted quad such as 203.0.113.10, no CIDR, no host name, no IPv6)`;
    }
    const [a, b] = octets;
    if (a === 0) return `${value} is in 0.0.0.0/8 ("this network"), not a reachable destination`;
    if (a === 127) return `${value} is a loopback address`;
    if (a === 169 && b === 254) return `${value} is link-local (169.254.0.0/16 holds the instance metadata service)`;
    if (a >= 224 && a <= 239) return `${value} is a multicast address`;
    if (a >= 240) return `${value} is reserved or broadcast (240.0.0.0/4)`;
    return undefined;
}

/** Ranges that are not on the internet, [first octet, second octet low, high, prefix, what]: RFC 1918, RFC 6598, RFC 2544. */
const NON_INTERNET_RANGES: readonly [number, number, number, string, string][] = [
    [10, 0, 255, "10.0.0.0/8", "RFC 1918 private"],
    [172, 16, 31, "172.16.0.0/12", "RFC 1918 private"],
    [192, 168, 168, "192.168.0.0/16", "RFC 1918 private"],
    [100, 64, 127, "100.64.0.0/10", "RFC 6598 shared (carrier-grade NAT)"],
    [198, 18, 19, "198.18.0.0/15", "RFC 2544 benchmarking"],
];

/**
 * The non-internet range a destination lies in, or undefined. NLB-1's addresses are public: a private
 * destination would make the proxies a public path into whatever network the china VPC can reach
 * (peerings, VPNs), so the stack config refuses one unless the operator opts in.
 */
export function privateRangeOf(value: string): string | undefined {
    const [a, b] = parseIpv4(value) ?? [];
    const range = NON_INTERNET_RANGES.find(([first, low, high]) => a === first && b >= low && b <= high);
    return range ? `${range[3]} (${range[4]})` : undefined;
}

export const MAX_DESTINATIONS = 32;

/** A non-empty list of distinct unicast IPv4 destinations. */
export function requireDestinations(key: string, values: readonly unknown[]): string[] {
    if (values.length === 0) {
        throw new InvalidValueError(key, "needs at least one IPv4 address");
    }
    if (values.length > MAX_DESTINATIONS) {
        throw new InvalidValueError(key, `has ${values.length} addresses; at most ${MAX_DESTINATIONS} are supported`);
    }
    const seen = new Set<string>();
    return values.map(value => {
        if (typeof value !== "string") {
            throw new InvalidValueError(key, `expected IPv4 addresses as strings, got ${typeof value}`);
        }
        const problem = destinationProblem(value);
        if (problem) {
            throw new InvalidValueError(key, problem);
        }
        if (seen.has(value)) {
            throw new InvalidValueError(key, `${value} is listed twice; each destination must appear once`);
        }
        seen.add(value);
        return value;
    });
}

// An NLB listens on a handful of ports; the bound keeps the user-data under EC2's 16 KiB.
export const MAX_PORTS = 8;

/** TCP port numbers. */
export const TCP_PORT_LIMITS = { min: 1, max: 65535 } as const;

/** A non-empty list of distinct TCP ports, each within TCP_PORT_LIMITS. */
export function requirePorts(key: string, values: readonly unknown[]): number[] {
    if (values.length === 0) {
        throw new InvalidValueError(key, "needs at least one TCP port");
    }
    if (values.length > MAX_PORTS) {
        throw new InvalidValueError(key, `has ${values.length} ports; at most ${MAX_PORTS} are supported`);
    }
    const seen = new Set<number>();
    return values.map(value => {
        const port = requireInteger(key, value, TCP_PORT_LIMITS.min, TCP_PORT_LIMITS.max);
        if (seen.has(port)) {
            throw new InvalidValueError(key, `port ${port} is listed twice`);
        }
        seen.add(port);
        return port;
    });
}

/** An integer in [min, max]; accepts a number or a string of digits (CLI flags, YAML strings). */
export function requireInteger(key: string, value: unknown, min: number, max: number): number {
    const n = typeof value === "string" && /^-?[0-9]+$/.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new InvalidValueError(key, `expected a whole number from ${min} to ${max}, got '${printable(shown(value))}'`);
    }
    return n;
}

/** Any value as text for a message; JSON values can be objects no String() accepts. */
function shown(value: unknown): string {
    try {
        return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
    } catch {
        return Object.prototype.toString.call(value);
    }
}

/** Three sizes of a scaling group, in order; the error names the desired-size key. */
export function requireOrderedSizes(keys: readonly [string, string, string], sizes: readonly [number, number, number]): void {
    const [min, desired, max] = sizes;
    if (!(min <= desired && desired <= max)) {
        const names = keys.map(k => k.split(":").pop()).join(" <= ");
        throw new InvalidValueError(keys[1], `need ${names}, got ${sizes.join("/")}`);
    }
}

const PRIVATE_BLOCKS: ReadonlyArray<[number, number]> = [[0x0a000000, 8], [0xac100000, 12], [0xc0a80000, 16]];

/** A VPC block: an aligned /16-/22 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16. */
export function requirePrivateCidr(key: string, value: string, example: string): string {
    const [address, prefixText, extra] = value.split("/");
    const octets = parseIpv4(address ?? "");
    const prefix = /^[0-9]{2}$/.test(prefixText ?? "") ? Number(prefixText) : NaN;
    const hint = `expected a private /16-/22 block such as ${example}, got '${printable(value)}'`;
    if (!octets || extra !== undefined || !(prefix >= 16 && prefix <= 22)) {
        throw new InvalidValueError(key, hint);
    }
    const base = octets.reduce((n, o) => n * 256 + o, 0);
    if (base % 2 ** (32 - prefix) !== 0) {
        throw new InvalidValueError(key, `${hint}: the address has bits set past /${prefix}`);
    }
    if (!PRIVATE_BLOCKS.some(([start, bits]) => prefix >= bits && Math.floor(base / 2 ** (32 - bits)) === start / 2 ** (32 - bits))) {
        throw new InvalidValueError(key, `${hint}: it is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`);
    }
    return value;
}

interface Arn { partition: string; service: string; region: string; account: string; resource: string }

/** The parts of an ARN whose resource has no colon, or undefined. */
function parseArn(value: string): Arn | undefined {
    const [arn, partition, service, region, account, resource, ...rest] = value.split(":");
    return arn === "arn" && rest.length === 0 && /^[0-9]{12}$/.test(account ?? "") && resource !== undefined
        ? { partition, service, region, account, resource } : undefined;
}

const inStack = (arn: Arn | undefined, service: string, partition: string, region: string): arn is Arn =>
    arn !== undefined && arn.service === service && arn.partition === partition && arn.region === region;

/** Whether a value is the ARN of an ACM certificate in this partition and region. */
export function isAcmCertificateArn(value: string, partition: string, region: string): boolean {
    const arn = parseArn(value);
    return inStack(arn, "acm", partition, region) && /^certificate\/[0-9a-f-]{36}$/.test(arn.resource);
}

/** An SNS topic ARN in this partition and region. */
export function requireTopicArn(key: string, value: string, partition: string, region: string): string {
    const arn = parseArn(value);
    if (!inStack(arn, "sns", partition, region) || !/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(arn.resource)) {
        throw new InvalidValueError(key, `expected an SNS topic ARN such as arn:${partition}:sns:${region}:123456789012:alarms (the stack's partition and region), got '${printable(value)}'`);
    }
    return value;
}

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

export function requireInstanceType(key: string, value: string, example: string): string {
    if (!INSTANCE_TYPE.test(value)) {
        throw new InvalidValueError(key, `expected an EC2 instance type such as ${example}, got '${printable(value)}'`);
    }
    return value;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

export interface PortRange {
    readonly from: number;
    readonly to: number;
}

/** Source ports NAT may use: the unprivileged ones, which MASQUERADE takes when no range is given. */
export const NAT_PORT_LIMITS: PortRange = { from: 1024, to: TCP_PORT_LIMITS.max };

/** "LO-HI" (or a single port) of source ports for NAT, inside NAT_PORT_LIMITS so it never takes a privileged port. */
export function requirePortRange(key: string, value: string): PortRange {
    const { from: min, to: max } = NAT_PORT_LIMITS;
    const match = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(value.trim());
    if (!match) {
        throw new InvalidValueError(key, `expected a port range such as ${min}-${max}, got '${printable(value)}'`);
    }
    const from = requireInteger(key, match[1], min, max);
    const to = requireInteger(key, match[2] ?? match[1], min, max);
    if (from > to) {
        throw new InvalidValueError(key, `range ${from}-${to} is empty: the first port must not exceed the last`);
    }
    return { from, to };
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A lower-case DNS name of at least two labels, no wildcard, no trailing dot. */
export function requireDomainName(key: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0) {
        throw new InvalidValueError(key, "is required: a DNS name such as poc1009.example.com");
    }
    const labels = value.split(".");
    if (value.length > 253 || labels.length < 2 || !labels.every(l => LABEL.test(l))) {
        throw new InvalidValueError(key, `'${printable(value)}' is not a lower-case DNS name such as poc1009.example.com (no wildcard, no trailing dot)`);
    }
    return value;
}

/** A single DNS label (a record name such as "test"). */
export function requireLabel(key: string, value: string): string {
    if (!LABEL.test(value)) {
        throw new InvalidValueError(key, `'${printable(value)}' is not a single lower-case DNS label such as "abc"`);
    }
    return value;
}

/** Long enough for an ARN, short enough that a huge value cannot flood a message. */
export const PRINTABLE_LENGTH = 120;

/** Shows a hostile value without letting it break the message (newlines, control characters, huge input). */
export function printable(value: string): string {
    const shown = JSON.stringify(value).slice(1, -1);
    return shown.length > PRINTABLE_LENGTH ? `${shown.slice(0, PRINTABLE_LENGTH - 3)}...` : shown;
}
