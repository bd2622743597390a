// The desired state of one proxy: where connections go and how the kernel is tuned. Everything the
// renderers print comes from a validated ForwardingSpec, so no input can reach a shell or a rule unchecked.
import {
    InvalidValueError, PortRange, requireInteger, requirePortRange, requirePorts,
} from "../core/validate";
import { DEFAULT_REGION_NAME, Region, RegionInput, requireRegions } from "./regions";

export interface ForwardingOptions {
    /** Source ports MASQUERADE may use; the kernel's default is 1024-65535. */
    readonly natPorts?: PortRange;
    /** net.netfilter.nf_conntrack_max. */
    readonly conntrackMax?: number;
    /** nf_conntrack_tcp_timeout_established, in seconds: a little over the NLB idle timeout (350 s). */
    readonly establishedTimeoutSeconds?: number;
    /** nf_conntrack_tcp_timeout_time_wait, in seconds: how long a closed connection keeps its NAT port. */
    readonly timeWaitTimeoutSeconds?: number;
    /** The connmark bit that tags proxied connections for MASQUERADE and FORWARD. */
    readonly connmark?: number;
    /** Seconds the agent lets held connections drain once Auto Scaling terminates the instance (proxy/drain.ts). */
    readonly drainSeconds?: number;
}

export interface ForwardingInput extends ForwardingOptions {
    /** One region of these destinations, each taking an equal share (the single-region form). */
    readonly destinations?: readonly string[];
    /** Or several regions, split by weight x dial (proxy/regions.ts). */
    readonly regions?: readonly RegionInput[];
    readonly ports: readonly number[];
}

export interface ForwardingSpec {
    /** Every region's destinations, in region order. */
    readonly destinations: readonly string[];
    readonly regions: readonly Region[];
    readonly ports: readonly number[];
    readonly natPorts?: PortRange;
    readonly conntrackMax: number;
    readonly establishedTimeoutSeconds: number;
    readonly timeWaitTimeoutSeconds: number;
    readonly connmark: number;
    readonly drainSeconds: number;
}

/** The kernel caps its default conntrack table at this size; we make it explicit and tunable. */
export const DEFAULT_CONNTRACK_MAX = 262144;
/** nf_conntrack_max values we accept: a table small enough to fill in a test, up to 16 Mi entries. */
export const CONNTRACK_MAX_LIMITS = { min: 1024, max: 16777216 } as const;
/** NLB TCP idle timeout (350 s) plus a margin, so the proxy never forgets a flow the NLB still holds. */
export const DEFAULT_ESTABLISHED_TIMEOUT_SECONDS = 360;
/** nf_conntrack_tcp_timeout_established values we accept: the NLB's smallest idle timeout to the kernel's default (5 days). */
export const ESTABLISHED_TIMEOUT_LIMITS = { min: 60, max: 432000 } as const;
export const DEFAULT_CONNMARK = 0x4000;
/** The connmark bit is one of bits 0-30 (0x1 to 0x40000000). */
export const CONNMARK_LIMITS = { min: 1, max: 0x40000000 } as const;
/**
 * A closed connection's conntrack entry (and its NAT port towards one destination) lives this long. The
 * kernel's 120 s halves the sustained new-connection rate the NAT port space allows; below the
 * destination's own TIME_WAIT (60 s on Linux, plus timer slack) a reused port would meet a TIME_WAIT
 * socket that refuses a SYN carrying another client's older timestamp (PAWS). Measured in docs/benchmarks.md.
 */
export const DEFAULT_TIME_WAIT_TIMEOUT_SECONDS = 70;
/** From the destination's own TIME_WAIT (60 s) to ten minutes. */
export const TIME_WAIT_TIMEOUT_LIMITS = { min: 60, max: 600 } as const;

/**
 * How long a terminating proxy keeps carrying its held connections before it lets Auto Scaling go on: the
 * agent's limit and the termination hook's heartbeat timeout. NLB-2 stops sending new connections at once.
 */
export const DEFAULT_DRAIN_SECONDS = 300;
/** A lifecycle hook's heartbeat timeout: 30-7200 s (terraform-provider-aws internal/service/autoscaling/group.go, heartbeat_timeout). */
export const DRAIN_SECONDS_LIMITS = { min: 30, max: 7200 } as const;

export type ForwardingSettings = Omit<ForwardingSpec, "destinations" | "regions" | "ports">;
type Keys = Partial<Record<keyof ForwardingInput, string>>;

/** Checks the kernel and NAT settings and fills their defaults; throws InvalidValueError naming the field. */
export function forwardingSettings(input: ForwardingOptions, keys: Keys = {}): ForwardingSettings {
    const key = (field: keyof ForwardingInput) => keys[field] ?? field;
    const connmark = requireInteger(key("connmark"), input.connmark ?? DEFAULT_CONNMARK, CONNMARK_LIMITS.min, CONNMARK_LIMITS.max);
    if ((connmark & (connmark - 1)) !== 0) {
        throw new InvalidValueError(key("connmark"), `0x${connmark.toString(16)} is not a single bit such as 0x4000`);
    }
    return {
        natPorts: input.natPorts && requirePortRange(key("natPorts"), `${input.natPorts.from}-${input.natPorts.to}`),
        conntrackMax: requireInteger(key("conntrackMax"), input.conntrackMax ?? DEFAULT_CONNTRACK_MAX,
            CONNTRACK_MAX_LIMITS.min, CONNTRACK_MAX_LIMITS.max),
        establishedTimeoutSeconds: requireInteger(key("establishedTimeoutSeconds"),
            input.establishedTimeoutSeconds ?? DEFAULT_ESTABLISHED_TIMEOUT_SECONDS,
            ESTABLISHED_TIMEOUT_LIMITS.min, ESTABLISHED_TIMEOUT_LIMITS.max),
        timeWaitTimeoutSeconds: requireInteger(key("timeWaitTimeoutSeconds"),
            input.timeWaitTimeoutSeconds ?? DEFAULT_TIME_WAIT_TIMEOUT_SECONDS, TIME_WAIT_TIMEOUT_LIMITS.min, TIME_WAIT_TIMEOUT_LIMITS.max),
        connmark,
        drainSeconds: requireInteger(key("drainSeconds"), input.drainSeconds ?? DEFAULT_DRAIN_SECONDS, DRAIN_SECONDS_LIMITS.min, DRAIN_SECONDS_LIMITS.max),
    };
}

/** The whole desired state, checked; what every renderer takes. */
export function forwardingSpec(input: ForwardingInput, keys: Keys = {}): ForwardingSpec {
    const regions = regionsOf(input, keys);
    return {
        destinations: regions.flatMap(r => r.destinations),
        regions,
        ports: requirePorts(keys.ports ?? "ports", input.ports),
        ...forwardingSettings(input, keys),
    };
}

/** The input's regions, checked: `destinations` alone is one region; a region's errors name the regions key. */
function regionsOf(input: ForwardingInput, keys: Keys): Region[] {
    if (input.regions !== undefined) {
        const key = keys.regions ?? "regions";
        if (input.destinations !== undefined) throw new InvalidValueError(key, `give ${keys.destinations ?? "destinations"} or ${key}, not both`);
        return requireRegions(key, (i, field) => `${key}[${i}].${field}`, input.regions);
    }
    const key = keys.destinations ?? "destinations";
    return requireRegions(key, () => key, [{ name: DEFAULT_REGION_NAME, destinations: input.destinations ?? [] }]);
}
