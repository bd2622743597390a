// The ALB stand-in's nginx configuration: TLS for *.<domain> and *.<cnDomain> with the lab's certificate,
// httpbin behind it, the listener's default actions for any other name. Pure text from the lab's paths.
import * as path from "node:path";
import { CN_DOMAIN, DOMAIN, HTTPBIN_PORT } from "./constants";

export interface AlbNginxInput {
    readonly runId: string;
    /** The run's directory: pki/, nginx/ (temporary files), logs and blob.bin live there. */
    readonly dir: string;
    readonly accessLog: string;
}

export function renderAlbNginxConf({ runId, dir, accessLog }: AlbNginxInput): string {
    const pki = path.join(dir, "pki");
    const tmp = (n: string) => path.join(dir, "nginx", n);
    return `# ALB stand-in of lab ${runId}
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
    keepalive_timeout 5s;

    # Like the listener's default action: a name the ALB does not serve gets no TLS and a 404 on port 80.
    server {
        listen 443 ssl default_server;
        ssl_reject_handshake on;
    }
    server {
        listen 80 default_server;
        return 404;
    }
    # The ingress rule '*.<domain>' with both certificates: the global and the China name.
    server {
        listen 80;
        listen 443 ssl;
        server_name *.${DOMAIN} *.${CN_DOMAIN};
        ssl_certificate ${path.join(pki, "leaf.crt")};
        ssl_certificate_key ${path.join(pki, "leaf.key")};
        # Lab-only endpoints nginx answers itself, so that benchmarks measure the path, not httpbin.
        location = /__lab/ok { access_log off; default_type text/plain; return 200 "ok\n"; }
        location = /__lab/blob { access_log off; default_type application/octet-stream; alias ${path.join(dir, "blob.bin")}; }
        location / {
            proxy_pass http://127.0.0.1:${HTTPBIN_PORT};
            proxy_set_header Host $host;
            # An ALB appends the TCP peer: with NLB-1 preserving addresses that is the proxy's address.
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Port $server_port;
        }
    }
}
`;
}
