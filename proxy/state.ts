// The state a proxy owns, as bash functions both programs embed: the forwarding script converges once to
// the configured split over every destination, the agent every pass to the split over those that answer. The
// restore document comes from renderRestoreDocument with the destination rules and the jump repairs as shell
// expansions, so script and agent install exactly what the pure renderer prints, from one source; `weigh` and
// `probability` are proxy/regions.ts `rotation` and proxy/cascade.ts `formatProbability` in bash (tests hold
// them to each other).
import { createHash } from "node:crypto";
import { CHAINS, connmarkMask, destinationRule, JUMPS, renderRestoreDocument } from "./rules";
import { shareOf } from "./regions";
import { ForwardingSpec } from "./spec";

/** Marks the jump rules we add to builtin chains, so we find (and never duplicate) exactly ours. */
export const JUMP_COMMENT = "cross-region-proxy";
/** Where the lock, the installed-state record and the health state live unless CROSS_REGION_PROXY_STATE says:
 *  one folder per network namespace, since all of a host's namespaces share /run. */
export const DEFAULT_STATE_DIR = "/run/cross-region-proxy/$(readlink /proc/self/ns/net | tr -dc 0-9)";

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

/** Text for an unquoted heredoc: only \, $ and ` are special there. */
const heredocText = (text: string) => text.replace(/[\\$`]/g, c => `\\${c}`);

const DESTINATIONS_EXPANSION = "@DESTINATION_RULES@";
const jumpsExpansion = (table: string) => `@JUMP_REPAIRS_${table}@`;

/** The restore document as the body of an unquoted heredoc: data escaped, our two expansions live. */
function documentHeredocBody(spec: ForwardingSpec): string {
    const document = renderRestoreDocument(spec, [DESTINATIONS_EXPANSION], table => [jumpsExpansion(table)]);
    return heredocText(document)
        .replace(DESTINATIONS_EXPANSION, '$(destination_rules "$@")')
        .replace(jumpsExpansion("nat"), "$(jump_repairs nat)")
        .replace(jumpsExpansion("filter"), "$(jump_repairs filter)");
}

/** Variables and functions shared by the forwarding script and the agent. */
export function renderOwnedState(spec: ForwardingSpec): string {
    const fields = { number: "$((i + 1))", count: "$n", destination: "$d" };
    const regionOf = spec.regions.flatMap((r, i) => r.destinations.map(() => i));
    const mark = connmarkMask(spec);
    const insertJumps = (table: string) => JUMPS.filter(j => j.table === table)
        .map(j => `'-I ${j.from} 1 -m comment --comment ${JUMP_COMMENT} -j ${j.to}'`).join(" ");
    // Names the rendered spec in the installed-state record: a program rendered from another spec (new ports,
    // NAT range) installs its rules even where the destinations are the same.
    const specId = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
    return `destinations=(${spec.destinations.join(" ")})
region_of=(${regionOf.join(" ")})
region_names=(${spec.regions.map(r => r.name).join(" ")})
region_shares=(${spec.regions.map(shareOf).join(" ")})
region_weights=(${spec.regions.map(r => r.weight).join(" ")})
region_priorities=(${spec.regions.map(r => r.priority).join(" ")})
ports=(${spec.ports.join(" ")})
spec_id=${specId}
state=\${CROSS_REGION_PROXY_STATE:-${DEFAULT_STATE_DIR}}
repairs=0

log() { printf 'cross-region-proxy: %s\\n' "$*" >&2; }

# One run at a time, script or agent: concurrent runs queue on this lock, and each finds the state the
# previous one left, so 20 runs at once end exactly as one.
lock() { exec 9>>"$state/lock" && flock 9; }
unlock() { flock -u 9; }

# gcd A B: sets divisor to the greatest common divisor of A and B (gcd 0 B is B).
gcd() {
  local a=$1 b=$2 t
  while ((b > 0)); do t=$((a % b)); a=$b; b=$t; done
  divisor=$a
}

# pick VALUES HEALTHY...: rotation=(IP=WEIGHT ...) over the healthy destinations of the lowest priority that has a
# region with a healthy destination and a value above 0 in the array VALUES (region_shares or region_weights); each
# such region's value split evenly over its healthy destinations in whole numbers (value x lcm / count, over
# their gcd); region_taken=(...) sums the weights per region. Returns 1, rotation empty, when no region qualifies.
pick() {
  local -n value=$1
  shift
  local -A in=()
  local -a count=() of=()
  local d i r best=0 l=1 g=0 w
  rotation=() region_taken=()
  for d in "$@"; do in[$d]=1; done
  for r in "\${!region_names[@]}"; do count[r]=0 region_taken[r]=0; done
  for i in "\${!destinations[@]}"; do
    if [ -n "\${in[\${destinations[i]}]:-}" ]; then count[region_of[i]]=$((count[region_of[i]] + 1)); fi
  done
  for r in "\${!region_names[@]}"; do
    if ((count[r] > 0 && value[r] > 0 && (best == 0 || region_priorities[r] < best))); then best=\${region_priorities[r]}; fi
  done
  if ((best == 0)); then return 1; fi
  for r in "\${!region_names[@]}"; do
    if ((count[r] > 0 && value[r] > 0 && region_priorities[r] == best)); then gcd "$l" "\${count[r]}"; l=$((l / divisor * count[r])); fi
  done
  for i in "\${!destinations[@]}"; do
    d=\${destinations[i]} r=\${region_of[i]}
    if [ -n "\${in[$d]:-}" ] && ((value[r] > 0 && region_priorities[r] == best)); then
      w=$((value[r] * (l / count[r])))
      gcd "$g" "$w"; g=$divisor
      rotation+=("$d=$w") of+=("$r")
    fi
  done
  for i in "\${!rotation[@]}"; do
    w=$((\${rotation[i]#*=} / g))
    rotation[i]=\${rotation[i]%%=*}=$w
    region_taken[of[i]]=$((region_taken[of[i]] + w))
  done
}

# weigh HEALTHY...: where new connections go when those answer (proxy/regions.ts rotation): by weight x dial; when
# only drained regions (dial 0) answer, by weight alone, as Global Accelerator ignores the dial when it fails over.
# Returns 1 when no region with a weight answers.
weigh() { pick region_shares "$@" || pick region_weights "$@"; }

# probability NUMERATOR DENOMINATOR: sets p to the fraction rounded half up to 10 decimals by long division in
# whole numbers, digit for digit what formatProbability prints (0 <= NUMERATOR < DENOMINATOR).
probability() {
  local rest=$1 digits=0 k
  for ((k = 0; k < 10; k++)); do rest=$((rest * 10)); digits=$((digits * 10 + rest / $2)); rest=$((rest % $2)); done
  if ((2 * rest >= $2)); then digits=$((digits + 1)); fi
  if ((digits == 10000000000)); then p=1.0000000000; else printf -v p '0.%010d' "$digits"; fi
}

# destination_rules IP=WEIGHT...: ${CHAINS.destinations}'s rules for that rotation, as destinationRules prints them:
# rule i takes its weight over the weights of the rules from i on, the last one the rest.
destination_rules() {
  local n=$# i=0 rest=0 t d w p
  for t in "$@"; do rest=$((rest + \${t#*=})); done
  for t in "$@"; do
    d=\${t%%=*} w=\${t#*=}
    if ((i < n - 1)); then
      probability "$w" "$rest"
      printf '%s\\n' ${ruleTemplate({ ...fields, probability: "$p" })}
    else
      printf '%s\\n' ${ruleTemplate(fields)}
    fi
    rest=$((rest - w)) i=$((i + 1))
  done
}

# jump_repairs TABLE: in the same transaction as our chains, delete every jump to them from a builtin chain
# (duplicates, stale positions, someone else's copy) and insert exactly one, first, from each.
jump_repairs() {
  iptables-save -t "$1" | awk '/^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j CRPROXY-[A-Z]+$/ { sub(/^-A /, "-D "); print }'
  case $1 in
    nat) printf '%s\\n' ${insertJumps("nat")} ;;
    filter) printf '%s\\n' ${insertJumps("filter")} ;;
  esac
}

# document IP=WEIGHT...: the iptables-restore document (proxy/rules.ts) for that rotation.
document() {
  cat <<CRPROXY_RULES
${documentHeredocBody(spec)}CRPROXY_RULES
}

# observed: our part of the ruleset as the kernel has it, each rule with its position in its chain.
observed() {
  { iptables-save -t nat; iptables-save -t filter; } 2>/dev/null | awk '
    /^\\*/ { table = substr($0, 2); split("", position); next }
    /^:CRPROXY-/ { print table, $1; next }
    /^-A / { position[$2]++ }
    /^-A CRPROXY-/ || /^-A [A-Z]+ .*-j CRPROXY-[A-Z]+$/ { print table, position[$2], $0 }'
}

# differences OLD NEW: what is missing from and unexpected in NEW, on one line.
differences() {
  comm -3 <(sort <<<"$1") <(sort <<<"$2") |
    awk -F'\\t' '{ n++; if (n <= 6) out = out (out ? "; " : "") ($1 != "" ? "missing [" $1 "]" : "unexpected [" $2 "]") }
      END { print out (n > 6 ? "; and " n - 6 " more" : "") }'
}

# Conntrack holds every proxied connection (and its NAT port) until it times out: the NLB forgets an
# idle flow after its TCP idle timeout, so the kernel's 5-day established timeout would only keep dead entries.
# Written only when different: a network namespace sees the host's conntrack_max read-only.
setting() {
  local path=/proc/sys/\${1//.//} now
  now=$(cat "$path") || { settings_failed=yes; return 1; }
  [ "$now" != "$2" ] || return 0
  printf '%s\\n' "$2" 2>/dev/null >"$path" || { log "cannot set $1=$2"; settings_failed=yes; return 1; }
  log "set $1=$2 (was $now)"
  settings_repaired+=("$1 was $now")
}
settings() {
  settings_failed=no
  settings_repaired=()
  [ -e /proc/sys/net/netfilter/nf_conntrack_max ] || modprobe nf_conntrack || true
setting net.netfilter.nf_conntrack_max ${spec.conntrackMax}
setting net.netfilter.nf_conntrack_tcp_timeout_established ${spec.establishedTimeoutSeconds}
# A closed connection holds its NAT port this long: not below the destination's TIME_WAIT (60 s), and
# not the kernel's 120 s, which halves the sustained new connections per destination (docs/benchmarks.md).
setting net.netfilter.nf_conntrack_tcp_timeout_time_wait ${spec.timeWaitTimeoutSeconds}
setting net.ipv4.ip_forward 1
  [ "$settings_failed" = no ]
}

# forget DESTINATION: delete the conntrack entries of our connections to it that are not established, so a
# retransmitted SYN or a client reusing its source port meets the new rules; established ones stay unless
# CROSS_REGION_PROXY_FORGET_ESTABLISHED=yes.
forget() {
  command -v conntrack >/dev/null || { log "conntrack is not installed: cannot forget connections to $1"; return 0; }
  local s deleted=0 out
  local states=(SYN_SENT SYN_RECV FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE)
  [ "\${CROSS_REGION_PROXY_FORGET_ESTABLISHED:-no}" != yes ] || states+=(ESTABLISHED)
  for s in "\${states[@]}"; do
    # conntrack exits 1 when it deleted nothing: not a failure here, whatever set -e the caller runs under.
    out=$(conntrack -D -p tcp --reply-src "$1" --mark ${mark} --state "$s" 2>&1 >/dev/null) || true
    [[ $out =~ ([0-9]+)\\ flow ]] && deleted=$((deleted + BASH_REMATCH[1]))
  done
  log "forgot $deleted connection(s) to $1 that were not established (\${states[*]})"
}

# converge IP=WEIGHT...: our chains, jumps and sysctls exactly as rendered for that rotation. Logs what it found
# different; returns 2 when the document is rejected (nothing changed), 1 when it cannot be installed.
converge() {
  local want="$spec_id $*" now installed_set="" installed_rules="" record=$state/installed d
  now=$(observed)
  if [ -f "$record" ]; then
    installed_set=$(sed -n 1p "$record")
    installed_rules=$(sed 1d "$record")
    if [ "$installed_set" = "$want" ] && [ "$installed_rules" = "$now" ]; then
      settings && { [ \${#settings_repaired[@]} -eq 0 ] || repairs=$((repairs + 1)); }
      return
    fi
  fi
  command -v iptables-restore >/dev/null || { log "iptables-restore is not installed"; return 1; }
  document "$@" | iptables-restore -w --test --noflush || { log "iptables-restore rejected the rules; nothing was changed"; return 2; }
  settings || return 1
  [ \${#settings_repaired[@]} -eq 0 ] || repairs=$((repairs + 1))
  if [ ! -f "$record" ]; then
    log "installing the forwarding rules for \${*%%=*}"
  elif [ "$installed_rules" != "$now" ]; then
    repairs=$((repairs + 1))
    log "repairing the forwarding rules: $(differences "$installed_rules" "$now")"
  else
    log "destinations now \${*%%=*} (of \${destinations[*]})"
  fi
  document "$@" | iptables-restore -w --noflush || { log "iptables-restore failed"; return 1; }
  { printf '%s\\n' "$want"; observed; } >"$record.new" && mv "$record.new" "$record"
  # The destinations that left the rotation (a weight is not part of the comparison: one stays when only that
  # changes), all at once: a region that goes dark leaves with all its destinations.
  local left=()
  for d in \${installed_set#* }; do
    d=\${d%%=*}
    [[ " $want" == *" $d="* ]] || { forget "$d" & left+=($!); }
  done
  [ \${#left[@]} -eq 0 ] || wait "\${left[@]}"
}
`;
}
