// npm run --silent proxy:render -- --destinations 203.0.113.10,203.0.113.11 --ports 80,443 [--format script|agent|user-data]
// Prints the artifact on stdout; --help prints the usage; bad input: a message on stderr and exit status 2.
import { isUsageError, parseFlags } from "../core/cli";
import { InvalidValueError, requireInteger, requirePortRange, TCP_PORT_LIMITS } from "../core/validate";
import { ArtifactFormat, FORMATS, renderArtifact } from "./render";
import { CONNMARK_LIMITS, CONNTRACK_MAX_LIMITS, DRAIN_SECONDS_LIMITS, ESTABLISHED_TIMEOUT_LIMITS, TIME_WAIT_TIMEOUT_LIMITS } from "./spec";

const USAGE = `usage: proxy:render --destinations IP[,IP...] --ports PORT[,PORT...] [--format script|agent|user-data]
                    [--nat-ports LO-HI] [--conntrack-max N] [--established-timeout SECONDS]
                    [--time-wait-timeout SECONDS] [--connmark-mask BIT] [--drain-seconds SECONDS]
                    [--help]`;

const list = (value: string | undefined) => (value ?? "").split(",").map(s => s.trim()).filter(s => s !== "");
const optional = <T>(value: string | undefined, parse: (value: string) => T) => (value === undefined ? undefined : parse(value));

function main(argv: string[]): string {
    const { values, help } = parseFlags(argv, {
        "destinations": { type: "string" },
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
    return renderArtifact(format, {
        destinations: list(values.destinations),
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
        destinations: "--destinations", ports: "--ports", natPorts: "--nat-ports", conntrackMax: "--conntrack-max",
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
