// What the agent measures besides its own health, as bash functions it embeds: the scaling signal (new
// proxied connections per second) and the silent-drop counters (conntrack's, and the ENA driver's EC2
// allowance counters). Each figure is a delta since the last set of metrics; proxy/agent.ts sends them.
import { CHAINS } from "./rules";

/**
 * The ENA driver's allowance counters (`ethtool -S`; EC2 user guide, "Monitor network performance for ENA
 * settings on your EC2 instance"): packets queued or dropped because the instance went over an EC2 allowance,
 * before the kernel ever saw them, and the metric each becomes. Absent on other interfaces (veth, virtio).
 */
export const ENA_ALLOWANCE_COUNTERS = {
    bw_in_allowance_exceeded: "BwInAllowanceExceeded",
    bw_out_allowance_exceeded: "BwOutAllowanceExceeded",
    pps_allowance_exceeded: "PpsAllowanceExceeded",
    conntrack_allowance_exceeded: "ConntrackAllowanceExceeded",
    linklocal_allowance_exceeded: "LinklocalAllowanceExceeded",
} as const;

/** conntrack -S counters of packets the kernel dropped without a word to either end, summed over CPUs. */
export const CONNTRACK_DROP_COUNTERS = ["insert_failed", "drop", "early_drop"] as const;

export function renderFleetSignals(): string {
    const ena = Object.entries(ENA_ALLOWANCE_COUNTERS).flat().join(" ");
    return `# counters: conntrack's ${CONNTRACK_DROP_COUNTERS.join(", ")}, summed over CPUs, on one line.
counters() {
  conntrack -S 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); c[kv[1]] += kv[2] } }
    END { print c["insert_failed"] + 0, c["drop"] + 0, c["early_drop"] + 0 }'
}

# proxied_total: new connections proxied since our nat chains were last written: the packet counter of the
# ${CHAINS.connect} CONNMARK rule (the nat table sees only the first packet of a connection).
proxied_total() {
  iptables -w -t nat -L ${CHAINS.connect} -v -x -n 2>/dev/null | awk '$3 == "CONNMARK" { n = $1; exit } END { print n + 0 }'
}

# per_second COUNT MICROSECONDS: a rate per second with two decimals.
per_second() {
  awk -v n="$1" -v t="$2" 'BEGIN { printf "%.2f", (t > 0 ? n * 1000000 / t : 0) }'
}

# ena_counters: the ENA allowance counters summed over this host's interfaces, one "Metric value" line each;
# nothing when no interface has them (not ENA) or ethtool is missing.
ena_counters() {
  command -v ethtool >/dev/null || return 0
  local dev
  for dev in /sys/class/net/*; do
    [ "\${dev##*/}" = lo ] || ethtool -S "\${dev##*/}" 2>/dev/null
  done | awk 'BEGIN { n = split("${ena}", m); for (i = 1; i < n; i += 2) metric[m[i] ":"] = m[i + 1] }
    ($1 in metric) { sum[metric[$1]] += $2; seen[metric[$1]] = 1 } END { for (k in seen) print k, sum[k] }'
}

# ena_metrics: this interval's deltas of the ENA counters (since sent[NAME]), as metric data.
ena_metrics() {
  local name value delta
  while read -r name value; do
    delta=$((value - \${sent[$name]:-$value}))
    # A counter that went back was reset (the driver reloaded): count from zero.
    [ "$delta" -ge 0 ] || delta=$value
    sent[$name]=$value
    metric "$name" "$delta" Count
  done < <(ena_counters)
}

# ena_absence: why this host has no ENA counters.
ena_absence() {
  if command -v ethtool >/dev/null; then
    echo "no ENA allowance counters on $(ls /sys/class/net | grep -vx lo | tr '\\n' ' ')(not ENA interfaces)"
  else
    echo "ethtool is not installed"
  fi
}
`;
}
