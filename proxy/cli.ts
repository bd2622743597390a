// npm run --silent proxy:render -- --destinations 203.0.113.10,203.0.113.11 --ports 80,443 [--format script|agent|user-data]
// or, for several regions, --region 'NAME=IP,IP [weight=W] [dial=D] [priority=P]' once per region.
// Prints the artifact on stdout; --help prints the usage; bad input: a message on stderr and exit status 2.
import { isUsageError, parseFlags } from "../core/cli";
import { InvalidValueError, printable, requireInteger, requirePortRange, TCP_PORT_LIMITS } from "../core/validate";
import { RegionInput } from "./regions";
import { ArtifactFormat, FORMATS, renderArtifact } from "./render";
import { CONNMARK_LIMITS, CONNTRACK_MAX_LIMITS, DRAIN_SECONDS_LIMITS, ESTABLISHED_TIMEOUT_LIMITS, TIME_WAIT_TIMEOUT_LIMITS } from "./spec";

const USAGE = `usage: proxy:render --destinations IP[,IP...] --ports PORT[,PORT...] [--format script|agent|user-data]
                    [--nat-ports LO-HI] [--conntrack-max N] [--established-timeout SECONDS]
                    [--time-wait-timeout SECONDS] [--connmark-mask BIT] [--drain-seconds SECONDS]
                    [--help]
       proxy:render --region 'NAME=IP[,IP...] [weight=0-255] [dial=0-100] [priority=1-255]' [--region ...] --ports ...
                    (several regions instead of --destinations: new connections split by weight x dial %)`;

const list = (value: string | undefined) => (value ?? "").split(",").map(s => s.trim()).filter(s => s !== "");
const optional = <T>(value: string | undefined, parse: (value: string) => T) => (value === undefined ? undefined : parse(value));

/** One --region value: NAME=IP,IP followed by optional weight=, dial=, priority= (proxy/regions.ts checks them). */
function parseRegion(value: string): RegionInput {
    const [head, ...controls] = value.trim().split(/\s+/);
    const at = head.indexOf("=");
    if (at < 1) throw new InvalidValueError("--region", `expected 'NAME=IP[,IP...] [weight=W] [dial=D] [priority=P]', got '${printable(value)}'`);
    const region: Record<string, unknown> = { name: head.slice(0, at), destinations: list(head.slice(at + 1)) };
    for (const control of controls) {
        const [field, number, extra] = control.split("=");
        if (!["weight", "dial", "priority"].includes(field) || number === undefined || extra !== undefined || field in region) {
            throw new InvalidValueError("--region", `'${printable(control)}' is not one of weight=W, dial=D, priority=P (each at most once)`);
        }
        region[field] = number;
    }
    return region as unknown as RegionInput;
}

function main(argv: string[]): string {
    const { values, help } = parseFlags(argv, {
        "destinations": { type: "string" },
        "region": { type: "string", multiple: true },
        "ports": { type: "string" },
        "format": { type: "string" },
        "nat-ports": { type: "string" },
        "conntrack-max": { type: "string" },
        "established-timeout": { type: "string" },
        "time-wait-timeout": { type: "string" },
        "connmark-mask": { type: "string" },
        "drain-seconds": { type: "string" },
    });
    if (help) {
        return `${USAGE}\n`;
    }
    const format = (values.format ?? "script") as ArtifactFormat;
    if (!FORMATS.includes(format)) {
        throw new InvalidValueError("--format", `expected one of ${FORMATS.join(", ")}, got '${values.format}'`);
    }
    const connmark = optional(values["connmark-mask"], mask => /^0x[0-9a-f]+$/i.test(mask)
        ? parseInt(mask, 16) : requireInteger("--connmark-mask", mask, CONNMARK_LIMITS.min, CONNMARK_LIMITS.max));
    const regions = values.region?.map(parseRegion);
    return renderArtifact(format, {
        destinations: regions === undefined || values.destinations !== undefined ? list(values.destinations) : undefined,
        regions,
        ports: list(values.ports).map(p => requireInteger("--ports", p, TCP_PORT_LIMITS.min, TCP_PORT_LIMITS.max)),
        natPorts: optional(values["nat-ports"], range => requirePortRange("--nat-ports", range)),
        conntrackMax: optional(values["conntrack-max"],
            n => requireInteger("--conntrack-max", n, CONNTRACK_MAX_LIMITS.min, CONNTRACK_MAX_LIMITS.max)),
        establishedTimeoutSeconds: optional(values["established-timeout"],
            n => requireInteger("--established-timeout", n, ESTABLISHED_TIMEOUT_LIMITS.min, ESTABLISHED_TIMEOUT_LIMITS.max)),
        timeWaitTimeoutSeconds: optional(values["time-wait-timeout"],
            n => requireInteger("--time-wait-timeout", n, TIME_WAIT_TIMEOUT_LIMITS.min, TIME_WAIT_TIMEOUT_LIMITS.max)),
        connmark,
        drainSeconds: optional(values["drain-seconds"],
            n => requireInteger("--drain-seconds", n, DRAIN_SECONDS_LIMITS.min, DRAIN_SECONDS_LIMITS.max)),
    }, {
        destinations: "--destinations", regions: "--region", ports: "--ports", natPorts: "--nat-ports", conntrackMax: "--conntrack-max",
        establishedTimeoutSeconds: "--established-timeout", timeWaitTimeoutSeconds: "--time-wait-timeout", connmark: "--connmark-mask",
        drainSeconds: "--drain-seconds",
    });
}

try {
    process.stdout.write(main(process.argv.slice(2)));
} catch (err) {
    if (!isUsageError(err)) throw err;
    const message = err instanceof InvalidValueError ? err.message : `${(err as Error).message}\n${USAGE}`;
    process.stderr.write(`proxy:render: ${message}\n`);
    process.exit(2);
}
