// The forwarding script a proxy runs as root at every boot: tune conntrack, then install our chains
// atomically and hang them from the builtin chains once. Rendered from a validated spec only.
import { JUMPS, renderRestoreDocument } from "./rules";
import { ForwardingSpec } from "./spec";

/** Marks the jump rules we add to builtin chains, so we find (and never duplicate) exactly ours. */
export const JUMP_COMMENT = "cross-region-proxy";

export function renderForwardingScript(spec: ForwardingSpec): string {
    const natPorts = spec.natPorts ? `${spec.natPorts.from}-${spec.natPorts.to}` : "kernel default";
    return `#!/bin/bash
# cross-region-proxy forwarding rules, rendered by proxy/script.ts: do not edit, render again.
#   destinations: ${spec.destinations.join(" ")} (same port as the listener, 1/${spec.destinations.length} of new connections each)
#   listeners:    ${spec.ports.join(" ")}
#   NAT ports:    ${natPorts}
# Owns the chains CRPROXY-* and one jump each from PREROUTING, POSTROUTING (nat) and FORWARD (filter);
# it never flushes, deletes or reorders anything else. Running it again converges to the same state.
set -euo pipefail

fail() { echo "cross-region-proxy: $*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || fail "must run as root"
for tool in iptables iptables-restore; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

rules=$(cat <<'CRPROXY_RULES'
${renderRestoreDocument(spec)}CRPROXY_RULES
)

# Validate the whole document before changing anything.
iptables-restore -w --test --noflush <<<"$rules" || fail "iptables-restore rejected the rules; nothing was changed"

# Conntrack holds every proxied connection (and its NAT port) until it times out: the NLB forgets an
# idle flow after 350 s, so the kernel's 5-day established timeout would only keep dead entries.
# Written only when different: a network namespace sees the host's conntrack_max read-only.
setting() {
  local path=/proc/sys/\${1//.//}
  [ "$(cat "$path")" = "$2" ] || printf '%s\\n' "$2" >"$path" || { echo "cross-region-proxy: cannot set $1=$2" >&2; exit 1; }
}
[ -e /proc/sys/net/netfilter/nf_conntrack_max ] || modprobe nf_conntrack
setting net.netfilter.nf_conntrack_max ${spec.conntrackMax}
setting net.netfilter.nf_conntrack_tcp_timeout_established ${spec.establishedTimeoutSeconds}
# A closed connection holds its NAT port this long: not below the destination's TIME_WAIT (60 s), and
# not the kernel's 120 s, which halves the sustained new connections per destination (docs/benchmarks.md).
setting net.netfilter.nf_conntrack_tcp_timeout_time_wait ${spec.timeWaitTimeoutSeconds}
setting net.ipv4.ip_forward 1

# Our chains, atomically per table; --noflush leaves every other chain as it is.
iptables-restore -w --noflush <<<"$rules"

# One jump from each builtin chain, first so that it sees new connections; added only when missing.
jump() {
  iptables -w -t "$1" -C "$2" -m comment --comment ${JUMP_COMMENT} -j "$3" 2>/dev/null ||
    iptables -w -t "$1" -I "$2" 1 -m comment --comment ${JUMP_COMMENT} -j "$3"
}
${JUMPS.map(j => `jump ${j.table} ${j.from} ${j.to}`).join("\n")}
`;
}
