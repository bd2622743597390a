// The agent a proxy runs as a long-lived service: iptables keeps sending its share of new connections to a
// destination that stopped answering, so every second it probes each destination of every region on every
// listener port (all at once), keeps CRPROXY-DESTINATIONS to those that answer with the regions' shares
// recomputed over them (a region with none left gives its share to the others), and verifies and repairs the
// whole owned state (chains, jumps, sysctls) with the forwarding script's own functions (proxy/state.ts). It
// sends its figures to CloudWatch and, when it cannot install its rules at all, asks its Auto Scaling group to
// replace the instance. When Auto Scaling terminates the instance, it drains it (proxy/drain.ts).
import { renderDrain } from "./drain";
import { ENA_ALLOWANCE_COUNTERS, renderFleetSignals } from "./fleetSignals";
import { incompleteFileGuard } from "./script";
import { ForwardingSpec } from "./spec";
import { renderOwnedState } from "./state";

/** Seconds between passes (CROSS_REGION_PROXY_INTERVAL overrides it). */
export const PROBE_INTERVAL_SECONDS = 1;
/** Seconds a TCP connect may take before the probe counts as failed: under the interval, over a
 *  cross-region round trip (about 0.3 s from China to the global regions). Two of them are most of the time a
 *  dark region takes to leave the rotation, so it is 0.5, not more: its share moves within 3 s. */
export const PROBE_TIMEOUT_SECONDS = 0.5;
/** Probes in a row that change a destination's state, both ways: out after 2 failures, back after 2 answers. A
 *  destination in rotation that fails a probe is probed again at once, not a second later (HAProxy's `fastinter`
 *  for a server in transition): out within about 2.5 s of going dark, so a dark region's share moves within 3 s.
 *  Readmission keeps the interval (back after 2 answers 1 s apart): a destination flapping every second stays out. */
export const HEALTH_THRESHOLD = 2;
/** Passes in a row that fail to install the rules before the proxy reports itself unhealthy. */
export const UNHEALTHY_AFTER_PASSES = 30;
/** Seconds between two sets of metrics (CROSS_REGION_PROXY_METRICS_INTERVAL overrides it). */
export const METRICS_INTERVAL_SECONDS = 60;
/** The CloudWatch namespace of the agent's metrics; the instance role may put data in this one only. */
export const METRICS_NAMESPACE = "CrossRegionProxy";
/** The metrics the agent sends, each with the dimension AutoScalingGroupName. */
export const METRICS = {
    healthyDestinations: "HealthyDestinations",
    failOpen: "FailOpen",
    conntrackCount: "ConntrackCount",
    conntrackMax: "ConntrackMax",
    conntrackUsedPercent: "ConntrackUsedPercent",
    insertFailed: "ConntrackInsertFailed",
    drop: "ConntrackDrop",
    repairs: "Repairs",
    earlyDrop: "ConntrackEarlyDrop",
    /** The scaling signal; not sent while the proxy drains (it takes no new connections then). */
    newConnectionsPerSecond: "NewConnectionsPerSecond",
    /** 1 while Auto Scaling terminates the proxy and it drains its held connections. */
    draining: "Draining",
    bwInAllowanceExceeded: ENA_ALLOWANCE_COUNTERS.bw_in_allowance_exceeded,
    bwOutAllowanceExceeded: ENA_ALLOWANCE_COUNTERS.bw_out_allowance_exceeded,
    ppsAllowanceExceeded: ENA_ALLOWANCE_COUNTERS.pps_allowance_exceeded,
    conntrackAllowanceExceeded: ENA_ALLOWANCE_COUNTERS.conntrack_allowance_exceeded,
    linklocalAllowanceExceeded: ENA_ALLOWANCE_COUNTERS.linklocal_allowance_exceeded,
} as const;
/** The metrics the agent sends per region, each with the dimensions AutoScalingGroupName and REGION_DIMENSION. */
export const REGION_METRICS = {
    /** Destinations of the region in rotation by their probes (0: the region is out). */
    healthyDestinations: "RegionHealthyDestinations",
    /** The region's part of new connections at that moment, in whole percent. */
    sharePercent: "RegionSharePercent",
} as const;
/** The dimension that names a region: its global stack's fully qualified name (the region's name in the spec). */
export const REGION_DIMENSION = "GlobalStack";

export function renderHealthAgent(spec: ForwardingSpec): string {
    return `#!/bin/bash
${incompleteFileGuard("cross-region-proxy-agent")}
# cross-region-proxy agent, rendered by proxy/agent.ts: do not edit, render again.
#   agent.sh          runs until stopped: one pass every CROSS_REGION_PROXY_INTERVAL s (default ${PROBE_INTERVAL_SECONDS})
#   agent.sh --once   one pass
# Each pass probes every destination of every region on every listener port at once (TCP connect, ${PROBE_TIMEOUT_SECONDS} s). A
# destination leaves the rotation after ${HEALTH_THRESHOLD} failed passes in a row (a failure is probed again at once) and
# comes back after ${HEALTH_THRESHOLD} answered ones. New connections split by region weight x dial over the regions of the
# lowest priority with a destination in rotation, evenly within a region; a region with none gives its share to
# the others. With no region with a weight answering it keeps the configured split over all (fail open, as an NLB
# and Global Accelerator do). Then it converges the whole owned state, as the forwarding script does, to that
# rotation: any drift is repaired and logged. Its state and the lock it shares with the script are in
# CROSS_REGION_PROXY_STATE. When Auto Scaling terminates the instance, it keeps forwarding until the proxied
# connections have ended (at most ${spec.drainSeconds} s), then lets it go.
set -uo pipefail

${renderOwnedState(spec)}
interval=\${CROSS_REGION_PROXY_INTERVAL:-${PROBE_INTERVAL_SECONDS}}
metrics_interval=\${CROSS_REGION_PROXY_METRICS_INTERVAL:-${METRICS_INTERVAL_SECONDS}}
unhealthy_after=\${CROSS_REGION_PROXY_UNHEALTHY_AFTER:-${UNHEALTHY_AFTER_PASSES}}
declare -A up=() streak=() answered=()

# start_probes: probes every listener port of every destination at once, in the background (probe_pids); the
# probes leave through OUTPUT, which our rules do not touch, so they reach the destination itself.
start_probes() {
  local d
  probe_pids=()
  for d in "\${destinations[@]}"; do
    timeout ${PROBE_TIMEOUT_SECONDS} bash -c 'for p in "\${@:2}"; do (exec 3<>"/dev/tcp/$1/$p") 2>/dev/null & pids+=($!); done
      for pid in "\${pids[@]}"; do wait "$pid" || exit 1; done' probe "$d" "\${ports[@]}" &
    probe_pids+=($!)
  done
}

# collect_probes: sets answered[D] to 1 when every listener port of D accepted a TCP connection in time.
collect_probes() {
  local d i=0
  for d in "\${destinations[@]}"; do
    if wait "\${probe_pids[i]}"; then answered[$d]=1; else answered[$d]=0; fi
    i=$((i + 1))
  done
}

# decide: moves destinations in or out of rotation (hysteresis), sets healthy=(...), their rotation=(IP=WEIGHT ...)
# (weigh), fail_open, and per region region_healthy=(...) and region_percent=(...).
decide() {
  local d i r total=0 shares=""
  healthy=() region_healthy=() recheck=no
  for d in "\${destinations[@]}"; do
    if [ "\${answered[$d]}" = "\${up[$d]}" ]; then
      streak[$d]=0
    else
      streak[$d]=$((streak[$d] + 1))
      if [ "\${streak[$d]}" -ge ${HEALTH_THRESHOLD} ]; then
        up[$d]=\${answered[$d]}
        streak[$d]=0
        if [ "\${up[$d]}" = 1 ]; then log "$d answers again: back in rotation"; else log "$d stopped answering: out of rotation"; fi
      elif [ "\${up[$d]}" = 1 ]; then
        # In rotation and failing: the next pass starts at once (main), to confirm or clear it sooner.
        recheck=yes
      fi
    fi
    [ "\${up[$d]}" = 0 ] || healthy+=("$d")
  done
  answering=\${#healthy[@]}
  if weigh "\${healthy[@]}"; then
    [ "$fail_open" = 0 ] || log "fail open ends: \${healthy[*]} answer"
    fail_open=0
  else
    weigh "\${destinations[@]}"
    [ "$fail_open" = 1 ] || log "$([ "$answering" -eq 0 ] && echo "no destination answers" || echo "only regions of weight 0 answer"): keeping all \${#rotation[@]} in rotation (fail open); conntrack $(cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)/$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null) entries"
    fail_open=1
  fi
  for r in "\${!region_names[@]}"; do region_healthy[r]=0; total=$((total + region_taken[r])); done
  for i in "\${!destinations[@]}"; do
    if [ "\${up[\${destinations[i]}]}" = 1 ]; then region_healthy[region_of[i]]=$((region_healthy[region_of[i]] + 1)); fi
  done
  for r in "\${!region_names[@]}"; do
    region_percent[r]=$((100 * region_taken[r] / total))
    shares+="\${shares:+, }\${region_names[r]} \${region_percent[r]} %"
  done
  # Several regions: say where new connections go whenever that changes.
  if [ \${#region_names[@]} -gt 1 ] && [ "$shares" != "$logged_shares" ]; then log "shares now: $shares"; logged_shares=$shares; fi
  # Replaced whole (rename), never rewritten in place: a concurrent --once reads it without the lock.
  for d in "\${destinations[@]}"; do printf '%s %s %s\\n' "$d" "\${up[$d]}" "\${streak[$d]}"; done >"$state/health.new"
  mv -f "$state/health.new" "$state/health"
}

# imds PATH: one instance metadata value, over IMDSv2.
imds() {
  local token
  token=$(curl -sf --max-time 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&
    curl -sf --max-time 2 -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# aws_cli ARGS...: the AWS CLI in this instance's region; fails quietly where there is none.
aws_cli() {
  command -v aws >/dev/null || { log "no aws command: cannot run aws $1 $2"; return 1; }
  region=\${region:-\${AWS_REGION:-$(imds placement/region)}}
  [ -n "$region" ] || { log "no region from IMDS: cannot run aws $1 $2"; return 1; }
  aws --region "$region" "$@"
}

# own_group: sets group to this instance's Auto Scaling group: its tag on the instance, through IMDS
# (instanceMetadataTags), else Auto Scaling's own answer. Fails when there is none.
own_group() {
  group=\${group:-\${CROSS_REGION_PROXY_GROUP:-$(imds tags/instance/aws:autoscaling:groupName ||
    aws_cli autoscaling describe-auto-scaling-instances --instance-ids "$(imds instance-id)" --query 'AutoScalingInstances[0].AutoScalingGroupName' --output text)}}
  [[ $group =~ ^[A-Za-z0-9._-]+$ ]] || { group=; return 1; }
}

# own_instance: sets instance to this instance's id (IMDS). Fails when there is none.
own_instance() {
  instance=\${instance:-\${CROSS_REGION_PROXY_INSTANCE_ID:-$(imds instance-id)}}
  [[ $instance =~ ^i-[0-9a-f]+$ ]] || { instance=; return 1; }
}

${renderFleetSignals()}
# metric NAME VALUE UNIT [REGION]: appends one datum, dimensioned by the Auto Scaling group (and the region), to
# data (JSON). Region names are stack names (letters, digits, '-', '_', '.', '/'): nothing to escape.
metric() {
  local dimensions="{\\"Name\\":\\"AutoScalingGroupName\\",\\"Value\\":\\"$group\\"}"
  [ -z "\${4:-}" ] || dimensions+=",{\\"Name\\":\\"${REGION_DIMENSION}\\",\\"Value\\":\\"$4\\"}"
  data+=\${data:+,}"{\\"MetricName\\":\\"$1\\",\\"Value\\":$2,\\"Unit\\":\\"$3\\",\\"Dimensions\\":[$dimensions]}"
}

# region_data: each region's figures (set by decide) as the metric data of a put-metric-data call of their own:
# ${spec.regions.length * Object.keys(REGION_METRICS).length} values, whatever the fleet-wide call carries.
region_data() {
  local r
  data=
  for r in "\${!region_names[@]}"; do
    metric ${REGION_METRICS.healthyDestinations} "\${region_healthy[r]}" Count "\${region_names[r]}"
    metric ${REGION_METRICS.sharePercent} "\${region_percent[r]}" Percent "\${region_names[r]}"
  done
  data="[$data]"
}

# measure: the counters as they stand, into the caller's insert_failed, drop, early_drop, proxied and now.
measure() {
  read -r insert_failed drop early_drop < <(counters)
  proxied=$(proxied_total) now=\${EPOCHREALTIME//[!0-9]/}
}

# The counters the last metrics were counted from, by name (each figure is a delta since then). Each set of
# metrics is measured by a background job, so they live in the state folder between two jobs.
declare -A sent=()
# remember: what measure read (and repairs) as the counters the next metrics count from, with the ENA
# counters already in sent.
remember() {
  local name
  sent[insert_failed]=$insert_failed sent[drop]=$drop sent[early_drop]=$early_drop sent[repairs]=$repairs sent[proxied]=$proxied sent[at]=$now
  for name in "\${!sent[@]}"; do printf '%s %s\\n' "$name" "\${sent[$name]}"; done >"$state/metrics-sent.new" && mv -f "$state/metrics-sent.new" "$state/metrics-sent"
}

# metrics_baseline: the counters as they stand at start; says once when there are no ENA counters.
metrics_baseline() {
  local insert_failed drop early_drop proxied now name value
  measure
  while read -r name value; do sent[$name]=$value; done < <(ena_counters)
  [ -n "\${sent[${METRICS.bwInAllowanceExceeded}]:-}" ] || log "$(ena_absence): the ENA allowance metrics are not sent"
  remember
}

# metric_data: this interval's figures (set by collect_metrics) as the metric data of one put-metric-data
# call: at most 16 data, within the API's old limit of 20 per call. A draining proxy sends no scaling signal
# (its idle figures would pull the fleet's average down, and the target-tracking policies would scale in again).
metric_data() {
  data=
  metric ${METRICS.healthyDestinations} "$answering" Count
  metric ${METRICS.failOpen} "$fail_open" Count
  metric ${METRICS.conntrackCount} "$count" Count
  metric ${METRICS.conntrackMax} "$max" Count
  metric ${METRICS.insertFailed} "$((insert_failed - sent[insert_failed]))" Count
  metric ${METRICS.drop} "$((drop - sent[drop]))" Count
  metric ${METRICS.earlyDrop} "$((early_drop - sent[early_drop]))" Count
  metric ${METRICS.repairs} "$((repairs - sent[repairs]))" Count
  if [ -n "$drain_started" ]; then
    metric ${METRICS.draining} 1 Count
  else
    metric ${METRICS.draining} 0 Count
    metric ${METRICS.conntrackUsedPercent} "$used" Percent
    # The counter starts again from 0 when our chains are rewritten (new destinations, a repair).
    metric ${METRICS.newConnectionsPerSecond} "$(per_second "$((proxied >= sent[proxied] ? proxied - sent[proxied] : proxied))" "$((now - sent[at]))")" Count/Second
  fi
  ena_metrics
  data="[$data]"
}

# collect_metrics: measures this interval's figures and sends them (a background job).
collect_metrics() {
  local count max used insert_failed drop early_drop proxied now data name value
  while read -r name value; do sent[$name]=$value; done <"$state/metrics-sent"
  count=$(<"/proc/sys/net/netfilter/nf_conntrack_count")
  max=$(<"/proc/sys/net/netfilter/nf_conntrack_max")
  used=$((100 * count / max))
  measure
  metric_data
  remember
  aws_cli cloudwatch put-metric-data --namespace ${METRICS_NAMESPACE} --metric-data "$data" >/dev/null
  region_data
  aws_cli cloudwatch put-metric-data --namespace ${METRICS_NAMESPACE} --metric-data "$data" >/dev/null
}

# send_metrics: this interval's figures to CloudWatch, measured and sent by a background job, so that neither
# the counters nor a slow API call delay a probe; one job at a time (the next interval waits for a slow one).
send_metrics() {
  own_group || { log "no Auto Scaling group name from the instance tags: no metrics"; return 0; }
  [ -z "$metrics_job" ] || ! kill -0 "$metrics_job" 2>/dev/null || return 0
  collect_metrics &
  metrics_job=$!
}

# report_unhealthy: the rules cannot be installed on this instance (a missing package, a broken kernel
# module): ask the Auto Scaling group to replace it. Not for a dead NLB-1: that fails open, rules intact.
report_unhealthy() {
  own_instance || { log "no instance id: cannot report the instance unhealthy"; return 0; }
  log "the forwarding rules could not be installed in $install_failures passes: reporting $instance unhealthy to its Auto Scaling group"
  aws_cli autoscaling set-instance-health --instance-id "$instance" --health-status Unhealthy --no-should-respect-grace-period && reported=yes
}

${renderDrain(spec)}
# A pass verifies (and repairs) the owned state with the decisions it has while the probes are out, so that
# drift never waits for a slow probe and the probes wait for no verification (a recheck, right after a pass,
# skips it); then once more with the new decisions.
pass() {
  start_probes
  if [ "$recheck" = no ]; then
    lock
    converge "\${rotation[@]}"
    unlock
  fi
  collect_probes
  decide
  lock
  if converge "\${rotation[@]}"; then install_failures=0; else install_failures=$((install_failures + 1)); fi
  unlock
  [ "$install_failures" -lt "$unhealthy_after" ] || [ "$reported" = yes ] || [ -n "$drain_started" ] || report_unhealthy
  lifecycle
  drain
  if [ "\${EPOCHSECONDS}" -ge "$next_metrics" ]; then
    next_metrics=$((EPOCHSECONDS + metrics_interval))
    send_metrics
  fi
}

main() {
  crproxy_complete=yes
  case \${1:-} in
    --once) once=yes ;;
    "") once=no ;;
    *) log "usage: $0 [--once]"; exit 2 ;;
  esac
  [ "$(id -u)" -eq 0 ] || { log "must run as root"; exit 2; }
  [[ $interval =~ ^[1-9][0-9]*$ && $metrics_interval =~ ^[1-9][0-9]*$ && $unhealthy_after =~ ^[1-9][0-9]*$ && $lifecycle_interval =~ ^[1-9][0-9]*$ ]] ||
    { log "CROSS_REGION_PROXY_INTERVAL, _METRICS_INTERVAL, _UNHEALTHY_AFTER and _LIFECYCLE_INTERVAL must be whole numbers of seconds and passes"; exit 2; }
  mkdir -p "$state"
  local d s v
  for d in "\${destinations[@]}"; do up[$d]=1; streak[$d]=0; done
  # Health decisions survive a restart (and carry one --once pass to the next).
  while read -r d v s; do
    [ -z "\${up[$d]+set}" ] || { up[$d]=$v; streak[$d]=$s; }
  done < <(cat "$state/health" 2>/dev/null)
  fail_open=0 install_failures=0 reported=no next_metrics=$((EPOCHSECONDS + metrics_interval)) group= region= instance= metrics_job=
  logged_shares= recheck=no
  # A drain that started before a restart goes on with its clock.
  drain_started=$(cat "$state/drain" 2>/dev/null) drain_said=no next_lifecycle=$EPOCHSECONDS next_complete=0 next_drain_log=0 completing=
  [[ $drain_started =~ ^[0-9]+$ ]] || drain_started=
  healthy=() region_healthy=() region_percent=()
  for d in "\${destinations[@]}"; do [ "\${up[$d]}" = 0 ] || healthy+=("$d"); done
  weigh "\${healthy[@]}" || weigh "\${destinations[@]}"
  [ "$once" = no ] || { pass; [ "$install_failures" -eq 0 ]; exit; }
  log "probing \${destinations[*]} (regions \${region_names[*]}) on ports \${ports[*]} every $interval s"
  # In the background too: the first pass installs the rules without waiting for ethtool and friends.
  metrics_baseline &
  local started elapsed rest
  while :; do
    started=\${EPOCHREALTIME//[!0-9]/}
    pass
    elapsed=$((\${EPOCHREALTIME//[!0-9]/} - started))
    rest=$((interval * 1000000 - elapsed))
    [ "$recheck" = no ] || rest=0
    [ "$rest" -le 0 ] || sleep "$((rest / 1000000)).$(printf '%06d' $((rest % 1000000)))"
  done
}

main "$@"
`;
}
