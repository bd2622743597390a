// cloud-init user-data for Amazon Linux 2023: installs iptables, writes the forwarding script and the
// health agent, and systemd units that apply the rules at every boot (they live in the kernel and are
// gone after a reboot) and run the agent every few seconds.
import { renderHealthAgent } from "./agent";
import { renderForwardingScript } from "./script";
import { ForwardingSpec } from "./spec";

export const SCRIPT_PATH = "/usr/local/sbin/cross-region-proxy-forwarding";
export const AGENT_PATH = "/usr/local/sbin/cross-region-proxy-health";
export const UNIT_NAME = "cross-region-proxy-forwarding.service";
export const AGENT_UNIT_NAME = "cross-region-proxy-health.service";
export const AGENT_TIMER_NAME = "cross-region-proxy-health.timer";
/** How often the agent probes the destinations. */
export const PROBE_INTERVAL_SECONDS = 10;

const UNIT = `[Unit]
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

const AGENT_UNIT = `[Unit]
Description=cross-region-proxy health agent (keeps answering destinations in CRPROXY-DESTINATIONS)
Requires=${UNIT_NAME}
After=${UNIT_NAME}

[Service]
Type=oneshot
ExecStart=${AGENT_PATH}
`;

const AGENT_TIMER = `[Unit]
Description=Run the cross-region-proxy health agent every ${PROBE_INTERVAL_SECONDS} s

[Timer]
OnActiveSec=${PROBE_INTERVAL_SECONDS}s
OnUnitActiveSec=${PROBE_INTERVAL_SECONDS}s
AccuracySec=1s

[Install]
WantedBy=timers.target
`;

/** A YAML literal block: every line indented, so no content can end the block or start a new key. */
const block = (text: string, indent: string) => text.replace(/\n$/, "").split("\n").map(l => (l ? indent + l : "")).join("\n");

function file(path: string, permissions: string, content: string): string {
    return `  - path: ${path}
    owner: root:root
    permissions: "${permissions}"
    content: |
${block(content, "      ")}`;
}

/** EC2 refuses user-data over 16 KiB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16384;

export function renderUserData(spec: ForwardingSpec): string {
    const userData = `#cloud-config
# cross-region-proxy proxy instance, rendered by proxy/userData.ts.
packages:
  - iptables-nft
write_files:
${file(SCRIPT_PATH, "0755", renderForwardingScript(spec))}
${file(AGENT_PATH, "0755", renderHealthAgent(spec))}
${file(`/etc/systemd/system/${UNIT_NAME}`, "0644", UNIT)}
${file(`/etc/systemd/system/${AGENT_UNIT_NAME}`, "0644", AGENT_UNIT)}
${file(`/etc/systemd/system/${AGENT_TIMER_NAME}`, "0644", AGENT_TIMER)}
runcmd:
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, ${UNIT_NAME}]
  - [systemctl, enable, --now, ${AGENT_TIMER_NAME}]
`;
    const size = Buffer.byteLength(userData);
    if (size > USER_DATA_LIMIT_BYTES) {
        throw new Error(`the proxy user-data is ${size} bytes, over EC2's limit of ${USER_DATA_LIMIT_BYTES}: use fewer destinations or ports`);
    }
    return userData;
}
