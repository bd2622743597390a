// The one change of a load balancer that a `pulumi up` cannot make while deletion protection is on: a new
// subnet set that forces a replacement. Checked against the subnets of the stack's last update, before
// anything is declared, because the failure comes late and leaves damage: the NLBs are replaced delete-first
// (see NlbFrontingAlb and IptablesProxyFleet), so their listeners are gone by the time AWS refuses to delete a
// protected load balancer ("deletion protection ... prevents your load balancer from being deleted", ELB user
// guide, "Deletion protection").
import { InvalidValueError } from "../core/validate";
import { qualified } from "./reader";

/**
 * Subnets an NLB's update removes or changes: a non-empty answer means a replacement. Subnets may only be
 * added in place (terraform-provider-aws internal/service/elbv2/load_balancer.go, customizeDiffLoadBalancerNLB:
 * removed or changed subnets and subnet mappings ForceNew).
 */
export function subnetsRemoved(previous: readonly string[], next: readonly string[]): string[] {
    return previous.filter(subnet => !next.includes(subnet));
}

/**
 * Refuses a subnet change that would replace a protected NLB. `previous` is what the last update published
 * (undefined on the first update, or from a release that did not publish it: nothing to compare).
 */
export function requireReplaceable(loadBalancer: string, previous: unknown, next: readonly string[], deletionProtection: boolean, cause: string): void {
    if (!deletionProtection || !Array.isArray(previous)) return;
    const removed = subnetsRemoved(previous.map(String), next);
    if (removed.length > 0) {
        throw new InvalidValueError(qualified("deletionProtection"), `the change of ${cause} removes ${removed.join(", ")} from ${loadBalancer}'s subnets, which replaces ${loadBalancer}, and deletion protection refuses to delete the old one: run 'pulumi config set cross-region-proxy:deletionProtection false' and 'pulumi up' first, then this change, then set it back (README, "Replacing a load balancer")`);
    }
}
