// cloud-init user-data for Amazon Linux 2023: installs iptables, writes the forwarding script and a
// systemd unit that applies it at every boot (rules live in the kernel and are gone after a reboot).
import { renderForwardingScript } from "./script";
import { ForwardingSpec } from "./spec";

export const SCRIPT_PATH = "/usr/local/sbin/cross-region-proxy-forwarding";
export const UNIT_NAME = "cross-region-proxy-forwarding.service";

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

/** A YAML literal block: every line indented, so no content can end the block or start a new key. */
const block = (text: string, indent: string) => text.replace(/\n$/, "").split("\n").map(l => (l ? indent + l : "")).join("\n");

export function renderUserData(spec: ForwardingSpec): string {
    return `#cloud-config
# cross-region-proxy proxy instance, rendered by proxy/userData.ts.
packages:
  - iptables-nft
write_files:
  - path: ${SCRIPT_PATH}
    owner: root:root
    permissions: "0755"
    content: |
${block(renderForwardingScript(spec), "      ")}
  - path: /etc/systemd/system/${UNIT_NAME}
    owner: root:root
    permissions: "0644"
    content: |
${block(UNIT, "      ")}
runcmd:
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, ${UNIT_NAME}]
`;
}
