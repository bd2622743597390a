// Bulk throughput with iperf3 (C, Debian package iperf3): the server on the ALB side, one client
// namespace receiving (-R, like a download) over parallel streams through the path under test.
import { inNs } from "../lab/exec";

/** Port of the iperf3 server behind every path (the proxies forward it like a listener port). */
export const IPERF_PORT = 5201;

/** Received bits per second from `iperf3 -J` output; throws with iperf3's own error when it failed. */
export function parseIperfJson(text: string): number {
    const doc = JSON.parse(text) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
    if (doc.error) throw new Error(`iperf3: ${doc.error}`);
    const bps = doc.end?.sum_received?.bits_per_second;
    if (typeof bps !== "number") throw new Error("iperf3 -J output has no end.sum_received.bits_per_second");
    return bps;
}

/** Gbit/s from `ns` to host:IPERF_PORT, `streams` parallel streams for `seconds`. */
export function runIperf(ns: string, host: string, seconds: number, streams = 4): number {
    const r = inNs(ns, "iperf3", ["-c", host, "-p", String(IPERF_PORT), "-R", "-J", "-t", String(seconds), "-P", String(streams)],
        { allowFailure: true, timeoutMs: (seconds + 30) * 1000 });
    return parseIperfJson(r.stdout) / 1e9;
}
