// The health agent a proxy runs every few seconds: iptables keeps sending 1/N of new connections to a
// destination that stopped answering, so the agent probes each destination and rewrites the destination
// chain, and only it, to those that answer. Its rules come from destinationRule and formatProbability, as
// the forwarding script's do, so a healthy set of n gets exactly the rules the script would write for it.
import { formatProbability } from "./cascade";
import { CHAINS, destinationRule } from "./rules";
import { ForwardingSpec } from "./spec";

/** Failed probes in a row that take a destination out of rotation; one answer brings it back. */
export const UNHEALTHY_THRESHOLD = 2;
/** Seconds a TCP connect may take before the probe counts as failed. */
export const PROBE_TIMEOUT_SECONDS = 2;

/** destinationRule as a bash double-quoted string whose fields are bash expansions. */
function ruleTemplate(fields: { number: string; count: string; destination: string; probability?: string }): string {
    const tokens = { number: "@NUMBER@", count: "@COUNT@", destination: "@DESTINATION@", probability: "@PROBABILITY@" };
    const rule = destinationRule(tokens.number, tokens.count, tokens.destination, fields.probability && tokens.probability);
    let quoted = `"${rule.replace(/[\\"$`]/g, c => `\\${c}`)}"`;
    for (const [field, token] of Object.entries(tokens)) {
        quoted = quoted.replace(token, fields[field as keyof typeof fields] ?? "");
    }
    return quoted;
}

export function renderHealthAgent(spec: ForwardingSpec): string {
    // Rule i of n matches 1/(n - i) of what reaches it: one value per distance d = n - i >= 2.
    const probabilities = Array.from({ length: spec.destinations.length - 1 }, (_, k) => k + 2)
        .map(d => `[${d}]=${formatProbability({ numerator: 1, denominator: d })}`).join(" ");
    const fields = { number: "$((i + 1))", count: "$n", destination: "${healthy[i]}" };
    return `#!/bin/bash
# cross-region-proxy health agent, rendered by proxy/agent.ts: do not edit, render again.
# Probes every destination on every listener port and rewrites ${CHAINS.destinations}, and nothing else,
# to the destinations that answer. A destination leaves after ${UNHEALTHY_THRESHOLD} failed probes in a row and comes back
# after one answer. With none answering it keeps them all: it fails open, as an NLB does, so that a fault
# on the proxy's own side never blackholes every connection. Established connections keep their NAT.
set -euo pipefail

destinations=(${spec.destinations.join(" ")})
ports=(${spec.ports.join(" ")})
probability=(${probabilities})
state=\${CROSS_REGION_PROXY_STATE:-/run/cross-region-proxy}/health

fail() { echo "cross-region-proxy-health: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || fail "must run as root"
iptables -w -t nat -S ${CHAINS.destinations} >/dev/null 2>&1 || fail "chain ${CHAINS.destinations} is missing: run the forwarding script first"
mkdir -p "$state"

# answers ADDRESS: every listener port accepts a TCP connection in time. The probe leaves through OUTPUT,
# which our rules do not touch, so it reaches the destination itself.
answers() {
  local port
  for port in "\${ports[@]}"; do
    timeout ${PROBE_TIMEOUT_SECONDS} bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$port" 2>/dev/null || return 1
  done
}

healthy=()
for destination in "\${destinations[@]}"; do
  failures=$(cat "$state/$destination" 2>/dev/null || echo 0)
  if answers "$destination"; then failures=0; else failures=$((failures + 1)); fi
  echo "$failures" >"$state/$destination"
  [ "$failures" -ge ${UNHEALTHY_THRESHOLD} ] || healthy+=("$destination")
done
[ "\${#healthy[@]}" -gt 0 ] || healthy=("\${destinations[@]}")

installed=$(iptables -w -t nat -S ${CHAINS.destinations} | sed -n 's/.*--to-destination \\([0-9.]*\\).*/\\1/p' | tr '\\n' ' ')
[ "$installed" != "\${healthy[*]} " ] || exit 0

rules() {
  local n=\${#healthy[@]} i
  for ((i = 0; i < n; i++)); do
    if ((i < n - 1)); then
      printf '%s\\n' ${ruleTemplate({ ...fields, probability: "${probability[n - i]}" })}
    else
      printf '%s\\n' ${ruleTemplate(fields)}
    fi
  done
}
iptables-restore -w --noflush <<CRPROXY_RULES
*nat
:${CHAINS.destinations} - [0:0]
$(rules)
COMMIT
CRPROXY_RULES
echo "cross-region-proxy-health: destinations now \${healthy[*]} (of \${destinations[*]})"
`;
}
