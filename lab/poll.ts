// Waiting in the agent labs: for a condition (polled, with a deadline), or a while without blocking the
// event loop (tools driven over stdin keep reading meanwhile).
import { sleep } from "./exec";

/** Polls every 25 ms until `done` holds; returns the milliseconds it took, or throws after timeoutMs. */
export function until(what: string, done: () => boolean, timeoutMs = 10_000): number {
    const t0 = Date.now();
    while (!done()) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not after ${timeoutMs / 1000} s`);
        sleep(25);
    }
    return Date.now() - t0;
}

export function pause(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}
