// The forwarding script a proxy runs as root at every boot: tune conntrack, then install our chains
// atomically and hang them from the builtin chains once. Rendered from a validated spec only.
import { regionPercents, rotation } from "./regions";
import { renderOwnedState } from "./state";
import { ForwardingSpec } from "./spec";

/** The guard every rendered program starts with: a file cut short (a partial write, a truncated copy) runs
 *  nothing, because its body is one function called on the last line, and exits 3 instead of 0. */
export function incompleteFileGuard(program: string): string {
    return `trap '[ -n "\${crproxy_complete:-}" ] || { echo "${program}: incomplete file, nothing was done" >&2; exit 3; }' EXIT`;
}

/** The header's description of where new connections go: 1/N each for one region, each region's part for several. */
function splitLines(spec: ForwardingSpec): string {
    if (spec.regions.length === 1) {
        return `#   destinations: ${spec.destinations.join(" ")} (same port as the listener, 1/${spec.destinations.length} of new connections each)`;
    }
    const percents = regionPercents(spec.regions, rotation(spec.regions, spec.destinations));
    return [`#   destinations: ${spec.destinations.join(" ")} (same port as the listener, split by region while all answer:)`,
        ...spec.regions.map((r, i) => `#     region ${r.name}: ${r.destinations.join(" ")}; weight ${r.weight}, dial ${r.dial} %, priority ${r.priority}: ${percents[i]} %`),
    ].join("\n");
}

export function renderForwardingScript(spec: ForwardingSpec): string {
    const natPorts = spec.natPorts ? `${spec.natPorts.from}-${spec.natPorts.to}` : "kernel default";
    return `#!/bin/bash
${incompleteFileGuard("cross-region-proxy")}
# cross-region-proxy forwarding rules, rendered by proxy/script.ts: do not edit, render again.
${splitLines(spec)}
#   listeners:    ${spec.ports.join(" ")}
#   NAT ports:    ${natPorts}
# Owns the chains CRPROXY-* and one jump each from PREROUTING, POSTROUTING (nat) and FORWARD (filter);
# it never flushes, deletes or reorders anything else. Running it again converges to the same state, and
# removes duplicate jumps of ours. Takes the lock the health agent takes.
set -euo pipefail

${renderOwnedState(spec)}
fail() { log "$*"; exit 2; }

main() {
  crproxy_complete=yes
  [ "$(id -u)" -eq 0 ] || fail "must run as root"
  local tool
  for tool in iptables iptables-save iptables-restore flock; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
  done
  mkdir -p "$state"
  lock
  weigh "\${destinations[@]}"
  document "\${rotation[@]}" | iptables-restore -w --test --noflush || fail "iptables-restore rejected the rules; nothing was changed"
  converge "\${rotation[@]}" || exit
}

main "$@"
`;
}
