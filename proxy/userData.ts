// cloud-init user-data for Amazon Linux 2023: installs iptables, conntrack and ethtool, writes the forwarding script
// and the agent, and systemd units that apply the rules at every boot (they live in the kernel and are gone
// after a reboot) and keep the agent running.
import * as zlib from "node:zlib";
import { renderHealthAgent } from "./agent";
import { renderForwardingScript } from "./script";
import { ForwardingSpec } from "./spec";

export const SCRIPT_PATH = "/usr/local/sbin/cross-region-proxy-forwarding";
export const AGENT_PATH = "/usr/local/sbin/cross-region-proxy-agent";
export const UNIT_NAME = "cross-region-proxy-forwarding.service";
export const AGENT_UNIT_NAME = "cross-region-proxy-agent.service";

export const UNIT = `[Unit]
Description=cross-region-proxy forwarding rules (iptables DNAT + MASQUERADE)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${SCRIPT_PATH}

[Install]
WantedBy=multi-user.target
`;

// Wants, not Requires: when the script fails (a missing package), the agent still starts, keeps trying, and
// reports the instance unhealthy. No start limit: it is restarted however often it stops.
export const AGENT_UNIT = `[Unit]
Description=cross-region-proxy agent (health of the destinations, repair of the rules, metrics)
Wants=${UNIT_NAME} network-online.target
After=${UNIT_NAME} network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=${AGENT_PATH}
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
`;

/**
 * gzip whose bytes depend on the content only: the user-data is the launch template's input, and any byte
 * that differs makes a new template version and rolls the fleet. Node writes mtime 0 but the OS byte of the
 * machine that runs `pulumi up` (3 on Linux, 19 on macOS: nodejs/node#18273); RFC 1952 has 255 for unknown.
 * The deflate stream is Node's bundled zlib at level 9: deploy with the Node line of .nvmrc.
 */
export function gzipStable(text: string): Buffer {
    const bytes = zlib.gzipSync(text, { level: 9 });
    bytes[9] = 0xff;
    return bytes;
}

/** A YAML literal block: every line indented, so no content can end the block or start a new key. */
const block = (text: string, indent: string) => text.replace(/\n$/, "").split("\n").map(l => (l ? indent + l : "")).join("\n");

function file(path: string, permissions: string, content: string): string {
    return `  - path: ${path}
    owner: root:root
    permissions: "${permissions}"
    content: |\n${block(content, "      ")}`;
}

/** EC2 refuses user-data over 16 KiB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16384;

/**
 * The bytes EC2 gets: the cloud-config gzipped whole, which cloud-init gunzips before it reads it (cloud-init docs,
 * "User data formats": "Gzip compressed content ... typically useful because user-data is limited to ~16384
 * bytes"). One stream holds the script and the agent, so gzip stores the state functions they share once.
 */
export function encodeUserData(text: string): Buffer {
    return gzipStable(text);
}

/** A launch template's user-data (base64 of encodeUserData) as cloud-init reads it, and its size as EC2 counts it. */
export function decodeUserData(base64: string): { text: string; bytes: number } {
    const bytes = Buffer.from(base64, "base64");
    return { text: zlib.gunzipSync(bytes).toString("utf8"), bytes: bytes.length };
}

/** The cloud-config cloud-init reads (the programs in plain text); its encoding (encodeUserData) fits EC2's limit. */
export function renderUserData(spec: ForwardingSpec): string {
    const userData = userDataText(spec);
    const size = encodeUserData(userData).length;
    if (size > USER_DATA_LIMIT_BYTES) {
        throw new Error(`the proxy user-data is ${size} bytes gzipped, over EC2's limit of ${USER_DATA_LIMIT_BYTES}: use fewer destinations or ports`);
    }
    return userData;
}

function userDataText(spec: ForwardingSpec): string {
    return `#cloud-config
# cross-region-proxy proxy instance, rendered by proxy/userData.ts.
# destinations: ${spec.destinations.join(" ")}
# regions: ${spec.regions.map(r => `${r.name} (${r.destinations.length})`).join(" ")}
# listeners: ${spec.ports.join(" ")}
packages:
  - iptables-nft
  - conntrack-tools
  - ethtool
write_files:
${file(SCRIPT_PATH, "0755", renderForwardingScript(spec))}
${file(AGENT_PATH, "0755", renderHealthAgent(spec))}
${file(`/etc/systemd/system/${UNIT_NAME}`, "0644", UNIT)}
${file(`/etc/systemd/system/${AGENT_UNIT_NAME}`, "0644", AGENT_UNIT)}
runcmd:
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, ${UNIT_NAME}]
  - [systemctl, enable, --now, ${AGENT_UNIT_NAME}]
`;
}
