// The ALB stand-in's nginx configuration: the http block of the lab's paths around the servers that
// lab/albStandIn.ts generates from the ALB the global stack declares. Pure text from the lab's paths.
import * as path from "node:path";
import { AlbCertificate, AlbModel, albNginxServers, CertificateFiles } from "./albStandIn";
import { HTTPBIN_PORT } from "./constants";

export interface AlbNginxInput {
    readonly runId: string;
    /** The run's directory: nginx/ (temporary files), logs and blob.bin live there. */
    readonly dir: string;
    readonly accessLog: string;
    readonly model: AlbModel;
    /** The lab certificate and key issued for each certificate the ALB declares. */
    readonly files: (certificate: AlbCertificate) => CertificateFiles;
}

export function renderAlbNginxConf({ runId, dir, accessLog, model, files }: AlbNginxInput): string {
    const tmp = (n: string) => path.join(dir, "nginx", n);
    return `# ALB stand-in of lab ${runId}, generated from the declared ALB (lab/albStandIn.ts)
user root;
worker_processes 2;
pid ${path.join(dir, "nginx.pid")};
error_log ${path.join(dir, "nginx-error.log")} warn;
events { worker_connections 8192; }
http {
    log_format alb escape=json '{"remote":"$remote_addr","server":"$server_addr","port":"$server_port","sni":"$ssl_server_name","host":"$host","uri":"$request_uri","status":"$status"}';
    access_log ${accessLog} alb;
    client_body_temp_path ${tmp("body")};
    proxy_temp_path ${tmp("proxy")};
    fastcgi_temp_path ${tmp("fastcgi")};
    uwsgi_temp_path ${tmp("uwsgi")};
    scgi_temp_path ${tmp("scgi")};
${albNginxServers({
        model,
        files,
        upstream: `127.0.0.1:${HTTPBIN_PORT}`,
        // Lab-only endpoints nginx answers itself, before any rule, so that benchmarks measure the path, not httpbin.
        labLocations: [
            `location = /__lab/ok { access_log off; default_type text/plain; return 200 "ok\\n"; }`,
            `location = /__lab/blob { access_log off; default_type application/octet-stream; alias ${path.join(dir, "blob.bin")}; }`,
        ].join("\n"),
    }).replace(/^/gm, "    ")}
}
`;
}
