// Tiny TCP clients and servers the lab runs inside namespaces (node, no dependencies):
//
//   burst --host H --port P --count N [--concurrency C] [--timeout-ms T]
//       opens N connections (C at a time), each closed with a RST as soon as it is established: new
//       connections are what the nat table sees, and RST leaves no TIME_WAIT socket on the client.
//       Prints {"ok":..,"failed":..,"elapsedMs":..}.
//   hold --host H --port P [--timeout-ms T]
//       a line protocol on stdin, one JSON answer per line on stdout:
//         fill MAX STOP  open connections one by one and keep them, until MAX attempts or STOP failures in a row
//         probe          try one more connection (kept when it succeeds)
//         close          close every kept connection (FIN: the client side enters TIME_WAIT)
//         exit
//   http-load --host H --port P --host-header NAME --path PATH [--concurrency C] [--seconds S]
//       HTTP/1.1 GETs over C keep-alive connections for S seconds; prints {"requests","bytes","errors","seconds"}.
//   serve-hold --port P
//       accepts connections and keeps them open without writing; closes its side when the client does
//       (so a closed connection moves on to TIME_WAIT as with a real server); prints "ready".
//   serve-echo --port P
//       as serve-hold, but writes back every byte it reads.
//   chat --host H --port P --count N [--interval-ms I] [--timeout-ms T]
//       opens N connections and keeps each carrying data: every I ms (default 200) it sends a line and
//       counts the bytes echoed back. A line protocol on stdin, one JSON answer per line on stdout:
//         status        every connection: {"port","sent","echoed","ended"} (ended: "closed" by us, "reset",
//                       "remote-close", or null while open)
//         close PORT..  ends those connections (FIN) and waits until each is closed
//         exit
import * as http from "node:http";
import * as net from "node:net";
import * as readline from "node:readline";
import { flag } from "./flag";

/** Resolves true when the connection is established within timeoutMs, false otherwise. */
function connectOnce(host: string, port: number, timeoutMs: number, keep: net.Socket[] | undefined): Promise<boolean> {
    return new Promise(resolve => {
        const socket = net.connect({ host, port });
        let done = false;
        const finish = (ok: boolean) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            if (ok && keep) {
                socket.on("error", () => undefined);
                keep.push(socket);
            } else if (ok) {
                socket.resetAndDestroy();
            } else {
                socket.destroy();
            }
            resolve(ok);
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        socket.once("connect", () => finish(true));
        socket.once("error", () => finish(false));
    });
}

async function burst(args: string[]): Promise<void> {
    const host = flag(args, "host");
    const port = Number(flag(args, "port"));
    const count = Number(flag(args, "count"));
    const concurrency = Number(flag(args, "concurrency", "32"));
    const timeoutMs = Number(flag(args, "timeout-ms", "3000"));
    let next = 0;
    let ok = 0;
    let failed = 0;
    const started = process.hrtime.bigint();
    const worker = async () => {
        while (next < count) {
            next++;
            if (await connectOnce(host, port, timeoutMs, undefined)) ok++; else failed++;
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    process.stdout.write(`${JSON.stringify({ ok, failed, elapsedMs })}\n`);
}

async function hold(args: string[]): Promise<void> {
    const host = flag(args, "host");
    const port = Number(flag(args, "port"));
    const timeoutMs = Number(flag(args, "timeout-ms", "500"));
    const kept: net.Socket[] = [];
    const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
        const [cmd, ...rest] = line.trim().split(/\s+/);
        if (cmd === "fill") {
            const max = Number(rest[0]);
            const stopAfter = Number(rest[1]);
            let successes = 0;
            let failures = 0;
            let streak = 0;
            const trace: string[] = [];
            for (let attempt = 0; attempt < max && streak < stopAfter; attempt++) {
                const ok = await connectOnce(host, port, timeoutMs, kept);
                trace.push(ok ? "+" : "x");
                if (ok) { successes++; streak = 0; } else { failures++; streak++; }
            }
            say({ successes, failures, attempts: successes + failures, held: kept.length, trace: trace.join("") });
        } else if (cmd === "probe") {
            say({ probe: await connectOnce(host, port, timeoutMs, kept), held: kept.length });
        } else if (cmd === "close") {
            const n = kept.length;
            await Promise.all(kept.splice(0).map(s => new Promise<void>(r => { s.end(() => r()); setTimeout(r, 1000); })));
            say({ closed: n });
        } else if (cmd === "exit") {
            break;
        } else if (cmd) {
            say({ error: `unknown command ${cmd}` });
        }
    }
    for (const s of kept) s.destroy();
    process.exit(0);
}

async function httpLoad(args: string[]): Promise<void> {
    const host = flag(args, "host");
    const port = Number(flag(args, "port"));
    const hostHeader = flag(args, "host-header");
    const urlPath = flag(args, "path");
    const concurrency = Number(flag(args, "concurrency", "8"));
    const seconds = Number(flag(args, "seconds", "3"));
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    let requests = 0;
    let bytes = 0;
    let errors = 0;
    const started = process.hrtime.bigint();
    const deadline = Date.now() + seconds * 1000;
    const once = () => new Promise<void>(resolve => {
        const req = http.get({ host, port, path: urlPath, agent, headers: { Host: hostHeader } }, res => {
            res.on("data", (chunk: Buffer) => { bytes += chunk.length; });
            res.on("end", () => { if (res.statusCode === 200) requests++; else errors++; resolve(); });
            res.on("error", () => { errors++; resolve(); });
        });
        req.setTimeout(5000, () => req.destroy(new Error("timeout")));
        req.on("error", () => { errors++; resolve(); });
    });
    const worker = async () => { while (Date.now() < deadline) await once(); };
    await Promise.all(Array.from({ length: concurrency }, worker));
    agent.destroy();
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(`${JSON.stringify({ requests, bytes, errors, seconds: elapsed })}\n`);
}

interface ChatConnection { socket: net.Socket; port: number; sent: number; echoed: number; ended: string | null }

async function chat(args: string[]): Promise<void> {
    const host = flag(args, "host");
    const port = Number(flag(args, "port"));
    const count = Number(flag(args, "count"));
    const intervalMs = Number(flag(args, "interval-ms", "200"));
    const timeoutMs = Number(flag(args, "timeout-ms", "3000"));
    const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
    const open: ChatConnection[] = [];
    for (let i = 0; i < count; i++) {
        const kept: net.Socket[] = [];
        if (!await connectOnce(host, port, timeoutMs, kept)) continue;
        const c: ChatConnection = { socket: kept[0], port: kept[0].localPort ?? 0, sent: 0, echoed: 0, ended: null };
        c.socket.on("data", (d: Buffer) => { c.echoed += d.length; });
        c.socket.on("error", () => { c.ended ??= "reset"; });
        c.socket.on("end", () => { c.ended ??= "remote-close"; });
        open.push(c);
    }
    const line = Buffer.from("ping from a held connection\n");
    const timer = setInterval(() => {
        for (const c of open) if (c.ended === null && c.socket.writable) { c.socket.write(line); c.sent += line.length; }
    }, intervalMs);
    say({ opened: open.length, ports: open.map(c => c.port) });
    const status = () => open.map(({ port: p, sent, echoed, ended }) => ({ port: p, sent, echoed, ended }));
    for await (const input of readline.createInterface({ input: process.stdin })) {
        const [cmd, ...rest] = input.trim().split(/\s+/);
        if (cmd === "status") {
            say({ connections: status() });
        } else if (cmd === "close") {
            const closing = open.filter(c => rest.includes(String(c.port)) && c.ended === null);
            await Promise.all(closing.map(c => new Promise<void>(resolve => {
                c.ended = "closed";
                c.socket.once("close", () => resolve());
                c.socket.end();
                setTimeout(() => { c.socket.destroy(); resolve(); }, 2000);
            })));
            say({ closed: closing.map(c => c.port) });
        } else if (cmd === "exit") {
            break;
        } else if (cmd) {
            say({ error: `unknown command ${cmd}` });
        }
    }
    clearInterval(timer);
    for (const c of open) c.socket.destroy();
    process.exit(0);
}

function serveHold(args: string[], echo = false): void {
    const port = Number(flag(args, "port"));
    const sockets = new Set<net.Socket>();
    const server = net.createServer(s => {
        sockets.add(s);
        s.on("data", (d: Buffer) => { if (echo) s.write(d); });
        s.on("end", () => s.end());
        s.on("error", () => undefined);
        s.on("close", () => sockets.delete(s));
    });
    server.maxConnections = 1_000_000;
    server.listen({ port, host: "0.0.0.0", backlog: 4096 }, () => process.stdout.write("ready\n"));
    const stop = () => { for (const s of sockets) s.destroy(); process.exit(0); };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

async function main(): Promise<void> {
    const [mode, ...args] = process.argv.slice(2);
    if (mode === "burst") return burst(args);
    if (mode === "hold") return hold(args);
    if (mode === "serve-hold") return serveHold(args);
    if (mode === "serve-echo") return serveHold(args, true);
    if (mode === "chat") return chat(args);
    if (mode === "http-load") return httpLoad(args);
    process.stderr.write("usage: tcp.ts burst|hold|chat|http-load|serve-hold|serve-echo ...\n");
    process.exit(2);
}

main().catch(err => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
});
