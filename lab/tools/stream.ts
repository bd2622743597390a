// The agent lab's client (node, no dependencies): holds connections open and, meanwhile, opens new ones at
// a steady rate, recording when each attempt started and whether it was established in time.
//
//   stream --host H --port P --rate R --hold-port HP --hold N [--timeout-ms T]
//       opens N connections to H:HP and keeps them, prints {"held":n,"ports":[local ports]}, then opens R new
//       connections a second to H:P (each reset once established) until it reads "stop" on stdin; then
//       prints {"attempts","failures":[start ms of each failed attempt],"closed":[local ports of held
//       connections that were closed or reset]}.
import * as net from "node:net";
import * as readline from "node:readline";
import { flag } from "./flag";

/** Resolves the socket when established within timeoutMs, undefined otherwise. */
function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket | undefined> {
    return new Promise(resolve => {
        const socket = net.connect({ host, port });
        const timer = setTimeout(() => { socket.destroy(); resolve(undefined); }, timeoutMs);
        socket.once("connect", () => { clearTimeout(timer); resolve(socket); });
        socket.once("error", () => { clearTimeout(timer); socket.destroy(); resolve(undefined); });
    });
}

async function main(args: string[]): Promise<void> {
    const host = flag(args, "host");
    const port = Number(flag(args, "port"));
    const rate = Number(flag(args, "rate"));
    const holdPort = Number(flag(args, "hold-port"));
    const hold = Number(flag(args, "hold"));
    const timeoutMs = Number(flag(args, "timeout-ms", "3000"));

    const closed: number[] = [];
    const ports: number[] = [];
    for (let i = 0; i < hold; i++) {
        const socket = await connect(host, holdPort, timeoutMs);
        if (!socket) continue;
        const local = socket.localPort ?? 0;
        ports.push(local);
        socket.on("error", () => undefined);
        socket.once("close", () => closed.push(local));
    }
    process.stdout.write(`${JSON.stringify({ held: ports.length, ports })}\n`);

    let attempts = 0;
    const failures: number[] = [];
    const pending = new Set<Promise<void>>();
    const timer = setInterval(() => {
        const started = Date.now();
        attempts++;
        const attempt = connect(host, port, timeoutMs).then(socket => {
            if (socket) socket.resetAndDestroy();
            else failures.push(started);
        });
        pending.add(attempt);
        void attempt.then(() => pending.delete(attempt));
    }, 1000 / rate);

    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
        if (line.trim() !== "stop") continue;
        clearInterval(timer);
        await Promise.all([...pending]);
        process.stdout.write(`${JSON.stringify({ attempts, failures, closed })}\n`);
        process.exit(0);
    }
}

void main(process.argv.slice(2));
