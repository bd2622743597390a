// The stack's role picks the program: `global` (httpbin, ALB, NLB-1) or `china` (proxies, NLB-2, CloudFront).
import { ConfigSource, qualified } from "./reader";
import { InvalidValueError } from "../core/validate";

export type Role = "global" | "china";
export const ROLES: readonly Role[] = ["global", "china"];

export function parseRole(source: ConfigSource): Role {
    const role = source.get("role");
    if (role === undefined || !(ROLES as readonly string[]).includes(role)) {
        throw new InvalidValueError(qualified("role"),
            `expected ${ROLES.join(" or ")}${role === undefined ? "" : `, got '${role}'`}: set it in the stack file (Pulumi.<stack>.yaml)`);
    }
    return role as Role;
}
