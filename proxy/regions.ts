// Destinations grouped by region (one global stack's NLB-1 each), with Global Accelerator's controls: a weight
// (0-255) and a traffic dial (0-100 %) per region, or priorities for pure failover. Pure: the checks every
// renderer input passes, and the rotation the agent computes in bash (proxy/state.ts `weigh`), here in
// TypeScript for the rendered defaults, the script's header and the tests that hold the bash to it.
import { InvalidValueError, MAX_DESTINATIONS, printable, requireDestinations, requireInteger } from "../core/validate";

/** Regions one proxy forwards to. With MAX_DESTINATIONS in all, the proxies' user-data stays under 16 KiB (tested). */
export const MAX_REGIONS = 8;
/** Global Accelerator's endpoint weight range (0 takes no traffic). */
export const WEIGHT_LIMITS = { min: 0, max: 255 } as const;
/** Global Accelerator's traffic dial, in percent of the region's weight. */
export const DIAL_LIMITS = { min: 0, max: 100 } as const;
/** Lowest value first: a priority takes new connections only when no region of a lower value can. */
export const PRIORITY_LIMITS = { min: 1, max: 255 } as const;
export const DEFAULT_WEIGHT = 100;
export const DEFAULT_DIAL = 100;
export const DEFAULT_PRIORITY = 1;
/** The region of a destination list given without regions (`--destinations`). */
export const DEFAULT_REGION_NAME = "default";
/**
 * A region's name is a metric dimension value and part of its alarm's name: a fully qualified stack name
 * (org/project/stack). This bound keeps alarm names (with their prefix and suffix) under CloudWatch's 255.
 */
export const MAX_REGION_NAME_LENGTH = 160;
/** Pulumi's stack name characters (alphanumerics, '-', '_', '.'), in up to three '/'-separated parts. */
const REGION_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

export interface RegionInput {
    readonly name: string;
    readonly destinations: readonly unknown[];
    readonly weight?: unknown;
    readonly dial?: unknown;
    readonly priority?: unknown;
}

export interface Region {
    readonly name: string;
    readonly destinations: readonly string[];
    readonly weight: number;
    readonly dial: number;
    readonly priority: number;
}

/** The key an error names for a field of the index-th region (the config key, a stack output or a CLI flag). */
export type RegionKey = (index: number, field: keyof RegionInput) => string;

/** A region's share of new connections while all regions answer: weight x dial. */
export const shareOf = (region: Pick<Region, "weight" | "dial">) => region.weight * region.dial;

/** A region's weight, dial and priority, each in range (defaults when undefined). */
export function requireRegionControls(key: (field: "weight" | "dial" | "priority") => string, input: Pick<RegionInput, "weight" | "dial" | "priority">):
    Pick<Region, "weight" | "dial" | "priority"> {
    return {
        weight: requireInteger(key("weight"), input.weight ?? DEFAULT_WEIGHT, WEIGHT_LIMITS.min, WEIGHT_LIMITS.max),
        dial: requireInteger(key("dial"), input.dial ?? DEFAULT_DIAL, DIAL_LIMITS.min, DIAL_LIMITS.max),
        priority: requireInteger(key("priority"), input.priority ?? DEFAULT_PRIORITY, PRIORITY_LIMITS.min, PRIORITY_LIMITS.max),
    };
}

/** Some region must take new connections: a list whose every weight x dial is 0 would send them nowhere. */
export function requireSomeShare(key: string, regions: ReadonlyArray<Pick<Region, "name" | "weight" | "dial">>): void {
    if (regions.every(r => shareOf(r) === 0)) {
        throw new InvalidValueError(key, `every region's weight x dial is 0 (${regions.map(r => `${r.name}: ${r.weight} x ${r.dial} %`).join(", ")}): `
            + "no region would take new connections; give at least one region a weight and a dial above 0");
    }
}

/** A region's name: a stack name in Pulumi's characters, at most MAX_REGION_NAME_LENGTH long. */
export function requireRegionName(key: string, value: unknown): string {
    if (typeof value !== "string" || value.length > MAX_REGION_NAME_LENGTH || !REGION_NAME.test(value)) {
        throw new InvalidValueError(key, `expected a region name of letters, digits, '-', '_', '.' in up to three '/'-separated parts `
            + `(a stack name such as org/project/global-use2), at most ${MAX_REGION_NAME_LENGTH} characters, got '${printable(String(value))}'`);
    }
    return value;
}

/**
 * The regions checked as a whole: 1 to MAX_REGIONS, distinct names, each with valid destinations that no other
 * region has, MAX_DESTINATIONS in all, controls in range, and some share of new connections.
 */
export function requireRegions(listKey: string, key: RegionKey, regions: readonly RegionInput[]): Region[] {
    if (regions.length === 0 || regions.length > MAX_REGIONS) {
        throw new InvalidValueError(listKey, `has ${regions.length} regions; 1 to ${MAX_REGIONS} are supported`);
    }
    const owner = new Map<string, string>();
    const names = new Set<string>();
    const checked = regions.map((region, i): Region => {
        const name = requireRegionName(key(i, "name"), region.name);
        if (names.has(name)) throw new InvalidValueError(key(i, "name"), `region ${name} is listed twice; each region must appear once`);
        names.add(name);
        const destinations = requireDestinations(key(i, "destinations"), region.destinations);
        for (const d of destinations) {
            const other = owner.get(d);
            if (other !== undefined) {
                throw new InvalidValueError(key(i, "destinations"), `${d} is also a destination of region ${other}: two regions cannot share an address `
                    + "(each NLB-1 has its own Elastic IPs); check that each region names its own global stack");
            }
            owner.set(d, name);
        }
        return { name, destinations, ...requireRegionControls(field => key(i, field), region) };
    });
    if (owner.size > MAX_DESTINATIONS) {
        throw new InvalidValueError(listKey, `has ${owner.size} destinations in all (${checked.map(r => `${r.name}: ${r.destinations.length}`).join(", ")}); `
            + `at most ${MAX_DESTINATIONS} are supported (EC2's 16 KiB user-data limit)`);
    }
    requireSomeShare(listKey, checked);
    return checked;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export interface Rotation {
    /** The destinations that take new connections, in the spec's order, each with its whole-number weight. */
    readonly destinations: ReadonlyArray<{ readonly destination: string; readonly weight: number }>;
    /** No destination of a region with a weight answered: the configured split over every destination. */
    readonly failOpen: boolean;
}

/**
 * Among the healthy destinations, those of the lowest priority that has a region with a healthy destination and a
 * value above 0; each such region's value split evenly over its healthy destinations. The weights are whole
 * numbers (the value times lcm/healthy count, divided by their gcd), so bash computes the same ones.
 */
function pick(regions: readonly Region[], healthy: ReadonlySet<string>, value: (r: Region) => number): Rotation["destinations"] | undefined {
    const counts = regions.map(r => r.destinations.filter(d => healthy.has(d)).length);
    const candidates = regions.map((r, i) => ({ r, i })).filter(({ r, i }) => counts[i] > 0 && value(r) > 0);
    if (candidates.length === 0) return undefined;
    const best = Math.min(...candidates.map(({ r }) => r.priority));
    const chosen = candidates.filter(({ r }) => r.priority === best);
    const lcm = chosen.reduce((l, { i }) => (l / gcd(l, counts[i])) * counts[i], 1);
    const weighted = chosen.flatMap(({ r, i }) => r.destinations.filter(d => healthy.has(d)).map(destination => ({ destination, weight: value(r) * (lcm / counts[i]) })));
    const divisor = weighted.reduce((g, { weight }) => gcd(g, weight), 0);
    const order = regions.flatMap(r => r.destinations);
    return weighted.map(({ destination, weight }) => ({ destination, weight: weight / divisor }))
        .sort((a, b) => order.indexOf(a.destination) - order.indexOf(b.destination));
}

/**
 * Where new connections go when `healthy` answer: by weight x dial; when only drained regions (dial 0) answer, by
 * weight alone (Global Accelerator ignores the dial when it fails over); when no region with a weight answers,
 * fail open to the configured split over every destination (as an NLB and Global Accelerator do).
 */
export function rotation(regions: readonly Region[], healthy: readonly string[]): Rotation {
    const set = new Set(healthy);
    const chosen = pick(regions, set, shareOf) ?? pick(regions, set, r => r.weight);
    if (chosen !== undefined) return { destinations: chosen, failOpen: false };
    const all = pick(regions, new Set(regions.flatMap(r => r.destinations)), shareOf);
    if (all === undefined) throw new Error("no region has a share: requireRegions lets no such list through");
    return { destinations: all, failOpen: true };
}

/** Each region's part of new connections in a rotation, in whole percent rounded down (as the agent reports it). */
export function regionPercents(regions: readonly Region[], rotation: Rotation): number[] {
    const total = rotation.destinations.reduce((s, d) => s + d.weight, 0);
    return regions.map(r => Math.floor((100 * rotation.destinations.filter(d => r.destinations.includes(d.destination))
        .reduce((s, d) => s + d.weight, 0)) / total));
}

/**
 * How many destinations the configured split counts as for capacity: NAT ports run out first towards the address
 * that takes the largest part of new connections, so a split whose heaviest address takes 1/N is as good as N even
 * destinations (rounded down: 200:55 over 3 + 3 addresses is 3, not 6).
 */
export function effectiveDestinations(regions: readonly Region[]): number {
    const { destinations } = rotation(regions, regions.flatMap(r => r.destinations));
    const total = destinations.reduce((s, d) => s + d.weight, 0);
    return Math.max(1, Math.floor(total / Math.max(...destinations.map(d => d.weight))));
}
