// The edge stand-in: nginx doing what CloudFront's origin fetch does with the settings the china stack
// declares for its distribution (read from aws:cloudfront/distribution:Distribution inputs under the
// mocks, never from a component name). It terminates the viewer's TLS for the alias with a lab
// certificate and fetches from the origin domain over HTTPS only, with that name as SNI, the declared
// origin TLS versions, the chain verified against the lab CA, the viewer's Host and query string
// forwarded, X-Forwarded-For carrying the viewer, and origin connections kept alive.
//
// Timeouts modelled, with CloudFront's documented meaning (CloudFront API CustomOriginConfig / Origin;
// AWS::CloudFront::Distribution CustomOriginConfig in the CloudFormation reference):
// - originKeepaliveTimeout (default 5 s, "how long CloudFront persists its connection to the origin"):
//   upstream keepalive_timeout, idle origin connections are reused until then.
// - originReadTimeout (default 30 s, the "response timeout", how long CloudFront waits for a response):
//   proxy_read_timeout.
// - connectionTimeout (default 10 s, "how long CloudFront waits when trying to establish a connection"):
//   proxy_connect_timeout. connectionAttempts (default 3) is not modelled: the lab has one origin address.
// Not modelled: caching (the program disables it), Via / X-Amz-Cf-* headers, CloudFront's acceptance of
// an origin certificate that matches the forwarded Host instead of the origin domain (CloudFront guide,
// "HTTP 502 status code (Bad Gateway)"): the stand-in verifies the origin domain only, which is stricter.
import * as fs from "node:fs";
import * as path from "node:path";
import { ALL_VIEWER_POLICY_ID } from "../components/CloudfrontEdge";
import { DeclaredResource } from "../offline/mocks";
import { inNs, sleep, startInNs } from "./exec";

export interface EdgeModel {
    /** The viewer-facing name (the distribution's alias). */
    readonly alias: string;
    readonly originDomain: string;
    readonly originHttpsPort: number;
    /** nginx names of the TLS versions CloudFront may use to the origin. */
    readonly originSslProtocols: readonly string[];
    readonly viewerSslProtocols: readonly string[];
    readonly viewerProtocolPolicy: "redirect-to-https" | "https-only" | "allow-all";
    readonly forwardHost: boolean;
    readonly forwardQueryString: boolean;
    readonly originReadTimeout: number;
    readonly originKeepaliveTimeout: number;
    readonly connectionTimeout: number;
}

const DISTRIBUTION = "aws:cloudfront/distribution:Distribution";
const ORIGIN_SSL: Record<string, string> = { TLSv1: "TLSv1", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2" };
/** Viewer security policies (CloudFront guide, "Supported protocols and ciphers between viewers and CloudFront"). */
const VIEWER_SSL: Record<string, string[]> = {
    "TLSv1.2_2018": ["TLSv1.2", "TLSv1.3"],
    "TLSv1.2_2019": ["TLSv1.2", "TLSv1.3"],
    "TLSv1.2_2021": ["TLSv1.2", "TLSv1.3"],
    "TLSv1.2_2025": ["TLSv1.2", "TLSv1.3"],
    "TLSv1.3_2025": ["TLSv1.3"],
};

const unsupported = (what: string, value: unknown) => new Error(`edge stand-in: cannot express ${what}: ${JSON.stringify(value)}`);

/** The one distribution of the declared resources, as the edge stand-in will behave. */
export function edgeModel(resources: readonly DeclaredResource[]): EdgeModel {
    const distributions = resources.filter(r => r.type === DISTRIBUTION);
    if (distributions.length !== 1) {
        throw new Error(`edge stand-in: expected one CloudFront distribution, found ${distributions.length} (is cloudfrontEnabled true?)`);
    }
    const d = distributions[0].inputs;
    const aliases: string[] = d.aliases ?? [];
    if (aliases.length !== 1) throw unsupported("aliases (exactly one)", aliases);
    const behaviour = d.defaultCacheBehavior ?? {};
    if ((d.orderedCacheBehaviors ?? []).length > 0) throw unsupported("ordered cache behaviors", d.orderedCacheBehaviors);
    const origin = (d.origins ?? []).find((o: any) => o.originId === behaviour.targetOriginId);
    const custom = origin?.customOriginConfig;
    if (!custom) throw unsupported("an origin that is not a custom origin", origin);
    if (custom.originProtocolPolicy !== "https-only") throw unsupported("origin protocol policy", custom.originProtocolPolicy);
    if (origin.originPath || (origin.customHeaders ?? []).length > 0) throw unsupported("origin path or custom headers", origin);
    const originSslProtocols = (custom.originSslProtocols as string[]).map(p => {
        if (!ORIGIN_SSL[p]) throw unsupported("origin SSL protocol", p);
        return ORIGIN_SSL[p];
    });
    const viewerSslProtocols = VIEWER_SSL[d.viewerCertificate?.minimumProtocolVersion];
    if (!viewerSslProtocols) throw unsupported("viewer minimum protocol version", d.viewerCertificate?.minimumProtocolVersion);
    if (!["redirect-to-https", "https-only", "allow-all"].includes(behaviour.viewerProtocolPolicy)) {
        throw unsupported("viewer protocol policy", behaviour.viewerProtocolPolicy);
    }
    // aws-cn: the legacy forwardedValues; elsewhere an origin request policy, of which the stand-in knows AllViewer.
    let forwardHost: boolean;
    let forwardQueryString: boolean;
    if (behaviour.forwardedValues) {
        const headers: string[] = behaviour.forwardedValues.headers ?? [];
        forwardHost = headers.some(h => h === "*" || h.toLowerCase() === "host");
        forwardQueryString = behaviour.forwardedValues.queryString === true;
    } else if (behaviour.originRequestPolicyId === ALL_VIEWER_POLICY_ID) {
        forwardHost = true;
        forwardQueryString = true;
    } else {
        throw unsupported("origin request policy (the stand-in knows forwardedValues and the managed AllViewer policy)", behaviour.originRequestPolicyId);
    }
    return {
        alias: aliases[0],
        originDomain: String(origin.domainName),
        originHttpsPort: Number(custom.httpsPort ?? 443),
        originSslProtocols,
        viewerSslProtocols,
        viewerProtocolPolicy: behaviour.viewerProtocolPolicy,
        forwardHost,
        forwardQueryString,
        originReadTimeout: Number(custom.originReadTimeout ?? 30),
        originKeepaliveTimeout: Number(custom.originKeepaliveTimeout ?? 5),
        connectionTimeout: Number(origin.connectionTimeout ?? 10),
    };
}

export interface EdgeNginxOptions {
    readonly model: EdgeModel;
    readonly dir: string;
    /** The edge's own address, where viewers connect. */
    readonly listenAddress: string;
    /** Where the origin domain resolves in the lab (NLB-2's address). */
    readonly originAddress: string;
    readonly viewerCert: string;
    readonly viewerKey: string;
    readonly caCert: string;
    readonly accessLog: string;
}

export function edgeNginxConf(o: EdgeNginxOptions): string {
    const m = o.model;
    const tmp = (n: string) => path.join(o.dir, "edge-nginx", n);
    const pass = `proxy_pass https://origin${m.forwardQueryString ? "" : "$uri"};`;
    const viewerHttp = m.viewerProtocolPolicy === "redirect-to-https" ? "return 301 https://$host$request_uri;"
        : m.viewerProtocolPolicy === "https-only" ? "return 403;" : pass;
    return `# Edge (CloudFront origin fetch) stand-in, generated from the declared distribution for ${m.alias}
user root;
worker_processes 1;
pid ${path.join(o.dir, "edge-nginx.pid")};
error_log ${path.join(o.dir, "edge-nginx-error.log")} info;
events { worker_connections 1024; }
http {
    log_format edge escape=json '{"remote":"$remote_addr","host":"$host","uri":"$request_uri","status":"$status","upstream":"$upstream_addr","upstream_status":"$upstream_status","connection":"$connection"}';
    access_log ${o.accessLog} edge;
    client_body_temp_path ${tmp("body")};
    proxy_temp_path ${tmp("proxy")};
    fastcgi_temp_path ${tmp("fastcgi")};
    uwsgi_temp_path ${tmp("uwsgi")};
    scgi_temp_path ${tmp("scgi")};
    # ${m.originDomain} resolves to NLB-2; HTTPS only: port ${m.originHttpsPort}, never the HTTP port.
    upstream origin {
        server ${o.originAddress}:${m.originHttpsPort};
        keepalive 16;
        keepalive_timeout ${m.originKeepaliveTimeout}s;
    }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host ${m.forwardHost ? "$http_host" : m.originDomain};
    # CloudFront puts the viewer's address in X-Forwarded-For (appended to any the viewer sent).
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_ssl_server_name on;
    proxy_ssl_name ${m.originDomain};
    proxy_ssl_protocols ${m.originSslProtocols.join(" ")};
    proxy_ssl_verify on;
    proxy_ssl_verify_depth 3;
    proxy_ssl_trusted_certificate ${o.caCert};
    proxy_connect_timeout ${m.connectionTimeout}s;
    proxy_read_timeout ${m.originReadTimeout}s;
    proxy_next_upstream off;
    server {
        listen ${o.listenAddress}:443 ssl;
        server_name ${m.alias};
        ssl_certificate ${o.viewerCert};
        ssl_certificate_key ${o.viewerKey};
        ssl_protocols ${m.viewerSslProtocols.join(" ")};
        location / { ${pass} }
    }
    server {
        listen ${o.listenAddress}:80;
        server_name ${m.alias};
        location / { ${viewerHttp} }
    }
}
`;
}

/** Writes the edge's nginx configuration, checks it, starts nginx in the edge namespace and waits for it. */
export function startEdge(ns: string, options: EdgeNginxOptions): number {
    const conf = path.join(options.dir, "edge-nginx.conf");
    fs.mkdirSync(path.join(options.dir, "edge-nginx"), { recursive: true });
    fs.writeFileSync(conf, edgeNginxConf(options));
    const prefix = ["-c", conf, "-p", path.join(options.dir, "edge-nginx"), "-e", path.join(options.dir, "edge-nginx-error.log")];
    inNs(ns, "nginx", ["-t", "-q", ...prefix]);
    const pid = startInNs(ns, "nginx", [...prefix, "-g", "daemon off;"], path.join(options.dir, "edge-nginx.log"));
    const deadline = Date.now() + 20_000;
    while (inNs(ns, "curl", ["-s", "-o", "/dev/null", "--max-time", "2", `http://${options.listenAddress}/`], { allowFailure: true }).status !== 0) {
        if (Date.now() > deadline) throw new Error(`edge nginx did not start: ${fs.readFileSync(path.join(options.dir, "edge-nginx-error.log"), "utf8").slice(-2000)}`);
        sleep(100);
    }
    return pid;
}
