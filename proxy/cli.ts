// npm run --silent proxy:render -- --destinations 203.0.113.10,203.0.113.11 --ports 80,443 [--format script|agent|user-data]
// Prints the artifact on stdout; bad input: a message on stderr and exit status 2.
import { parseArgs } from "node:util";
import { InvalidValueError, requireInteger, requirePortRange } from "../config/validate";
import { ArtifactFormat, FORMATS, renderArtifact } from "./render";

const USAGE = `usage: proxy:render --destinations IP[,IP...] --ports PORT[,PORT...] [--format script|agent|user-data]
                    [--nat-ports LO-HI] [--conntrack-max N] [--established-timeout SECONDS]
                    [--time-wait-timeout SECONDS] [--connmark BIT]`;

const list = (value: string | undefined) => (value ?? "").split(",").map(s => s.trim()).filter(s => s !== "");

function main(argv: string[]): string {
    const { values } = parseArgs({
        args: argv,
        strict: true,
        options: {
            "destinations": { type: "string" },
            "ports": { type: "string" },
            "format": { type: "string", default: "script" },
            "nat-ports": { type: "string" },
            "conntrack-max": { type: "string" },
            "established-timeout": { type: "string" },
            "time-wait-timeout": { type: "string" },
            "connmark": { type: "string" },
        },
    });
    const format = values.format as ArtifactFormat;
    if (!FORMATS.includes(format)) {
        throw new InvalidValueError("--format", `expected one of ${FORMATS.join(", ")}, got '${values.format}'`);
    }
    const connmark = values.connmark === undefined ? undefined : /^0x[0-9a-f]+$/i.test(values.connmark)
        ? parseInt(values.connmark, 16) : requireInteger("--connmark", values.connmark, 1, 0x40000000);
    return renderArtifact(format, {
        destinations: list(values.destinations),
        ports: list(values.ports).map(p => requireInteger("--ports", p, 1, 65535)),
        natPorts: values["nat-ports"] === undefined ? undefined : requirePortRange("--nat-ports", values["nat-ports"]),
        conntrackMax: values["conntrack-max"] === undefined ? undefined : requireInteger("--conntrack-max", values["conntrack-max"], 1024, 16777216),
        establishedTimeoutSeconds: values["established-timeout"] === undefined ? undefined
            : requireInteger("--established-timeout", values["established-timeout"], 60, 432000),
        timeWaitTimeoutSeconds: values["time-wait-timeout"] === undefined ? undefined
            : requireInteger("--time-wait-timeout", values["time-wait-timeout"], 60, 600),
        connmark,
    }, {
        destinations: "--destinations", ports: "--ports", natPorts: "--nat-ports", conntrackMax: "--conntrack-max",
        establishedTimeoutSeconds: "--established-timeout", timeWaitTimeoutSeconds: "--time-wait-timeout", connmark: "--connmark",
    });
}

try {
    process.stdout.write(main(process.argv.slice(2)));
} catch (err) {
    const message = err instanceof InvalidValueError ? err.message : `${(err as Error).message}\n${USAGE}`;
    process.stderr.write(`proxy:render: ${message}\n`);
    process.exit(2);
}
