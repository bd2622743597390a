// The forwarding lab's names and addresses. The lab is the system's data path rebuilt from network
// namespaces joined by veth links:
//
//   client (viewer) ──► edge (CloudFront origin-fetch stand-in, lab/edge.ts: HTTPS to test.<cnDomain>)
//   client, edge ──► nlb2 (NLB-2 stand-in: DNAT spread over the proxies, client IP preserved)
//                ├─► proxy0 ─┐  each runs exactly `proxy:render --format script` output
//                └─► proxy1 ─┴► nlb1 (NLB-1 stand-in: public RFC 5737 addresses, each DNATed, no SNAT)
//                          │       └─► alb (ALB stand-in: nginx generated from the ALB the global stack
//                          │                declares, lab/albStandIn.ts, proxying to httpbin under gunicorn)
//                          └─► nlb1b (with `regions: 2`: a second region's NLB-1, its own addresses and
//                                     links, DNAT to ALB nodes of its own on a second link of the alb)
//
// Every address lives inside a namespace this run creates (links in 198.18.0.0/15, public addresses in
// RFC 5737 ranges); veth pairs are created directly inside the namespaces, so the host gains nothing but
// the namespaces themselves, and deleting them removes everything.
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const DOMAIN = "poc1009.example.com";
export const CN_DOMAIN = "poc1010.example.com";
/** The name a user in China resolves to NLB-2 (the seed's test.${CN_DOMAIN_NAME}). */
export const USER_HOST = `test.${CN_DOMAIN}`;
/** NLB-1's public addresses: one per "availability zone", spread over the three RFC 5737 ranges. */
export const PUBLIC_ADDRESSES = ["203.0.113.10", "198.51.100.10", "192.0.2.10", "203.0.113.11", "198.51.100.11", "192.0.2.11"];
/** The second region's NLB-1 (a second global stack), in a namespace of its own: three "AZs". */
export const SECOND_REGION_ADDRESSES = ["203.0.113.20", "198.51.100.20", "192.0.2.20"];
/** NLB-2's address as the client sees it. */
export const VIP = "198.18.1.1";
export const CLIENT_ADDRESS = "198.18.1.2";
/** The edge stand-in's address (a CloudFront edge location, where abc.<cnDomain> resolves), and NLB-2's side of its link. */
export const EDGE_ADDRESS = "198.18.0.2";
export const EDGE_NLB2_ADDRESS = "198.18.0.1";
/** Listener ports of both NLBs and of the proxies. */
export const LISTENER_PORTS = [80, 443];
/** A lab-only port where the tests' connection holder listens on the ALB side (NLB-1 forwards all TCP). */
export const HOLD_PORT = 7000;
/** A lab-only port where the drain test's echo server listens on the ALB side. */
export const ECHO_PORT = 7001;
/** The instance metadata service's address; the lab serves it only inside a proxy's own namespace. */
export const IMDS_ADDRESS = "169.254.169.254";
export const NAME_PREFIX = "crp-";
/** Where httpbin (gunicorn) listens inside the ALB stand-in's namespace. */
export const HTTPBIN_PORT = 8000;

/** An address of the lab's links (198.18.0.0/15, benchmarking space): 198.18.<third>.<host>. */
export const link = (third: number, host: number) => `198.18.${third}.${host}`;
