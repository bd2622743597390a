// Load balancers: NLB-1's fixed addresses, health checks the ALB can pass, deletion protection.
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { fromProperty, list } from "./facts";

const LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer";
const TARGET_GROUP = "aws:lb/targetGroup:TargetGroup";

export const nlbFrontingAlbHasElasticIps: StackValidationPolicy = {
    name: "lb-nlb-to-alb-elastic-ips",
    description: "An internet-facing NLB that forwards to an ALB target group maps every subnet to an Elastic IP (the china stack forwards to those addresses).",
    validateStack: (args, report) => {
        const albGroups = new Set(args.resources.filter(r => r.type === TARGET_GROUP && r.props.targetType === "alb").map(r => r.urn));
        const fronting = new Set(args.resources
            .filter(r => r.type === "aws:lb/listener:Listener" && fromProperty(r, "defaultActions").some(t => albGroups.has(t.urn)))
            .flatMap(r => fromProperty(r, "loadBalancerArn").map(lb => lb.urn)));
        for (const lb of args.resources.filter(r => r.type === LOAD_BALANCER && fronting.has(r.urn) && r.props.internal !== true)) {
            const mappings = list<any>(lb.props.subnetMappings);
            if (list(lb.props.subnets).length > 0 || mappings.length === 0 || mappings.some(m => !m?.allocationId)) {
                report(`${lb.name}: give every subnet a subnetMappings entry with an Elastic IP allocationId (not subnets), so its addresses are fixed for the life of the stack`, lb.urn);
            }
        }
    },
};

/** True when an ALB-type target group's matcher (codes and ranges, 200-499) accepts the 200 the health path answers. */
export function matcherAccepts200(matcher: unknown): boolean {
    if (typeof matcher !== "string" || !/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(matcher)) return false;
    const ranges = matcher.split(",").map(part => part.split("-").map(Number)).map(([lo, hi]) => [lo, hi ?? lo]);
    return ranges.every(([lo, hi]) => lo >= 200 && hi <= 499 && lo <= hi) && ranges.some(([lo, hi]) => lo <= 200 && 200 <= hi);
}

export const albTargetHealthCheck: ResourceValidationPolicy = {
    name: "lb-alb-target-health-check",
    description: "ALB-type target groups check over HTTP or HTTPS, on a path, with a matcher that accepts 200.",
    validateResource: (args, report) => {
        if (args.type !== TARGET_GROUP || args.props.targetType !== "alb") return;
        const check = args.props.healthCheck ?? {};
        if (check.protocol !== "HTTP" && check.protocol !== "HTTPS") {
            report(`healthCheck.protocol must be HTTP or HTTPS for an ALB target (got ${check.protocol ?? "the default"})`);
        }
        if (typeof check.path !== "string" || !check.path.startsWith("/")) {
            report("healthCheck.path must name a path the ALB routes to the application whatever the Host header");
        }
        if (!matcherAccepts200(check.matcher)) {
            report(`healthCheck.matcher '${check.matcher ?? ""}' must be codes or ranges within 200-499 that include 200`);
        }
    },
};

export interface DeletionProtectionConfig {
    /** What the stacks' `deletionProtection` key is set to (default true). */
    readonly deletionProtection: boolean;
}

export const loadBalancerDeletionProtection: ResourceValidationPolicy = {
    name: "lb-deletion-protection",
    description: "Load balancers carry deletion protection as the stack's deletionProtection key says (default on).",
    configSchema: { properties: { deletionProtection: { type: "boolean", default: true } } },
    validateResource: (args, report) => {
        if (args.type !== LOAD_BALANCER) return;
        // The CLI fills schema defaults in; a bare analyzer without config gets the same default.
        const deletionProtection = args.getConfig<Partial<DeletionProtectionConfig>>().deletionProtection ?? true;
        if ((args.props.enableDeletionProtection === true) !== deletionProtection) {
            report(`enableDeletionProtection is ${args.props.enableDeletionProtection ?? "unset"}, expected ${deletionProtection}: `
                + "set it from the stack's deletionProtection key, and give the pack the same value (policy config deletionProtection)");
        }
    },
};
