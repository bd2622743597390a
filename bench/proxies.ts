// Configurations of the user-space proxies the bench compares with the kernel path: HAProxy in TCP
// mode and nginx's stream module, both round robin over the same destinations on the same ports.
// Pure text renderers (tested); bench/paths.ts starts them.

export interface UserSpaceProxy {
    /** Address to listen on (the proxy namespace's address facing NLB-2). */
    readonly listen: string;
    readonly ports: readonly number[];
    readonly destinations: readonly string[];
    /** Directory for the pid file and logs. */
    readonly dir: string;
}

const checkAddress = (a: string) => {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) throw new Error(`not an IPv4 address: '${a}'`);
    return a;
};
const checkPort = (p: number) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`not a port: ${p}`);
    return p;
};
const checkDir = (d: string) => {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(d)) throw new Error(`unsafe directory for a config file: '${d}'`);
    return d;
};

export function haproxyConfig(p: UserSpaceProxy): string {
    checkDir(p.dir);
    return [
        "global",
        // Two descriptors per proxied connection: stays under a 20,000 open-file limit.
        "    maxconn 9000",
        `    pidfile ${p.dir}/haproxy.pid`,
        "defaults",
        "    mode tcp",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        ...p.ports.flatMap(port => [
            `listen port${checkPort(port)}`,
            `    bind ${checkAddress(p.listen)}:${port}`,
            "    balance roundrobin",
            ...p.destinations.map((d, i) => `    server d${i} ${checkAddress(d)}:${port}`),
        ]),
        "",
    ].join("\n");
}

/** Debian's nginx-light has no stream module built in: libnginx-mod-stream ships it as this file. */
export const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

export function nginxStreamConfig(p: UserSpaceProxy): string {
    checkDir(p.dir);
    return [
        `load_module ${NGINX_STREAM_MODULE};`,
        "worker_processes auto;",
        `pid ${p.dir}/nginx-stream.pid;`,
        `error_log ${p.dir}/nginx-stream-error.log warn;`,
        "events { worker_connections 9000; }",
        "stream {",
        ...p.ports.flatMap(port => [
            `    upstream port${checkPort(port)} {`,
            ...p.destinations.map(d => `        server ${checkAddress(d)}:${port};`),
            "    }",
            `    server { listen ${checkAddress(p.listen)}:${port}; proxy_pass port${port}; }`,
        ]),
        "}",
        "",
    ].join("\n");
}
