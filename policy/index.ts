// The policy pack the Pulumi CLI runs: `pulumi preview --policy-pack policy`. Constructing a PolicyPack
// starts its gRPC server, so the policies live in policies.ts where tests can import them without one.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("cross-region-proxy", { policies, enforcementLevel: "mandatory" });
