// Drain on scale-in, as bash functions the agent embeds. Auto Scaling deregisters a terminating instance
// from its target groups first, so NLB-2 sends it no new connection, and waits for NLB-2's deregistration
// delay; only then does the termination hook hold it in Terminating:Wait ("Amazon EC2 Auto Scaling
// automatically deregisters the terminating instance from the load balancer before running lifecycle hooks":
// EC2 Auto Scaling user guide, "Amazon EC2 Auto Scaling instance lifecycle"). From the start, IMDS says the
// instance is heading for Terminated (user guide, "Retrieve the target lifecycle state through instance
// metadata"). The agent then keeps every rule and conntrack entry (the held connections ride on them), waits
// until its proxied connections have ended or the drain limit has passed, and completes the lifecycle action.
import { connmarkMask } from "./rules";
import { ForwardingSpec } from "./spec";

/** The termination hook's name on the proxies' Auto Scaling group (components/fleetScaling.ts). */
export const DRAIN_HOOK_NAME = "cross-region-proxy-drain";
/** Seconds between two looks at the target lifecycle state, and between two tries to complete the action
 *  (CROSS_REGION_PROXY_LIFECYCLE_INTERVAL overrides it). */
export const LIFECYCLE_INTERVAL_SECONDS = 5;
/** Seconds between two progress lines while connections drain. */
export const DRAIN_LOG_INTERVAL_SECONDS = 10;

export function renderDrain(spec: ForwardingSpec): string {
    return `drain_limit=${spec.drainSeconds}
lifecycle_interval=\${CROSS_REGION_PROXY_LIFECYCLE_INTERVAL:-${LIFECYCLE_INTERVAL_SECONDS}}

# live_connections: proxied connections not yet closed (our connmark; any state but TIME_WAIT and CLOSE,
# so a half-closed one that still carries data in one direction counts).
live_connections() {
  conntrack -L -p tcp --mark ${connmarkMask(spec)} 2>/dev/null | awk '$4 != "TIME_WAIT" && $4 != "CLOSE" { n++ } END { print n + 0 }'
}

# lifecycle: whether Auto Scaling is terminating this instance: asked every lifecycle_interval s in the
# background (a slow IMDS must not delay a probe), the answer read at the next pass. The drain's start is
# recorded in the state folder, so that a restarted agent keeps its clock.
lifecycle() {
  [ -z "$drain_started" ] || return 0
  local target=
  read -r target 2>/dev/null <"$state/target-lifecycle-state"
  if [ "$target" = Terminated ]; then
    drain_started=$EPOCHSECONDS
    printf '%s\\n' "$drain_started" >"$state/drain"
    log "Auto Scaling is terminating this instance: NLB-2 sends it no new connections; draining $(live_connections) proxied connection(s) for at most $drain_limit s, the forwarding rules stay"
    return 0
  fi
  [ "$EPOCHSECONDS" -ge "$next_lifecycle" ] || return 0
  next_lifecycle=$((EPOCHSECONDS + lifecycle_interval))
  { imds autoscaling/target-lifecycle-state >"$state/target-lifecycle-state.new" 2>/dev/null &&
    mv -f "$state/target-lifecycle-state.new" "$state/target-lifecycle-state"; } &
}

# drain: once the proxied connections are gone or the limit has passed, completes the lifecycle action, in
# the background, retried every lifecycle_interval s: the call fails until the instance is in
# Terminating:Wait, that is during NLB-2's deregistration delay.
drain() {
  [ -n "$drain_started" ] && [ ! -e "$state/drain-completed" ] || return 0
  local live waited=$((EPOCHSECONDS - drain_started))
  live=$(live_connections)
  if [ "$live" -gt 0 ] && [ "$waited" -lt "$drain_limit" ]; then
    [ "$EPOCHSECONDS" -lt "$next_drain_log" ] || { log "draining: $live proxied connection(s) open after $waited s"; next_drain_log=$((EPOCHSECONDS + ${DRAIN_LOG_INTERVAL_SECONDS})); }
    return 0
  fi
  if [ "$drain_said" = no ]; then
    drain_said=yes
    if [ "$live" -eq 0 ]; then log "drained: the last proxied connection closed, $waited s after the drain started"
    else log "drain limit of $drain_limit s reached with $live proxied connection(s) open: letting the instance go"; fi
  fi
  [ "$EPOCHSECONDS" -ge "$next_complete" ] || return 0
  [ -z "$completing" ] || ! kill -0 "$completing" 2>/dev/null || return 0
  next_complete=$((EPOCHSECONDS + lifecycle_interval))
  own_group && own_instance || { log "no Auto Scaling group or instance id: cannot complete the lifecycle action"; return 0; }
  {
    if aws_cli autoscaling complete-lifecycle-action --lifecycle-hook-name ${DRAIN_HOOK_NAME} --auto-scaling-group-name "$group" \\
      --lifecycle-action-result CONTINUE --instance-id "$instance" >/dev/null; then
      : >"$state/drain-completed"
      log "lifecycle action completed: Auto Scaling terminates the instance"
    else
      log "complete-lifecycle-action failed (it does until the instance waits on the hook, after NLB-2's deregistration delay): retrying in $lifecycle_interval s"
    fi
  } &
  completing=$!
}
`;
}
