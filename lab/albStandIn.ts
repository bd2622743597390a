// The ALB stand-in, generated from the ALB the global stack declares (not written by hand): its listeners,
// their certificates' names, listener rules by priority and default actions become one nginx server per
// listener. Resources are found by type and by the ARNs that link them (listener.loadBalancerArn,
// rule.listenerArn, listenerCertificate.listenerArn, certificateArn -> ACM domainName), never by name.
// Anything the stand-in cannot express fails here, naming what it was.
import { DeclaredResource } from "../offline/mocks";

export interface AlbCertificate {
    readonly arn: string;
    /** domainName and subjectAlternativeNames of the declared ACM certificate. */
    readonly names: readonly string[];
}

export type AlbAction =
    | { readonly type: "forward"; readonly targetGroupArn: string }
    | { readonly type: "fixed-response"; readonly statusCode: number; readonly contentType: string; readonly body: string }
    | { readonly type: "redirect"; readonly protocol: "HTTP" | "HTTPS" | undefined; readonly port: number | undefined; readonly statusCode: 301 | 302 };

export interface AlbRule {
    readonly priority: number;
    /** Host patterns (any matches); none: any host. */
    readonly hosts?: readonly string[];
    /** Path patterns (any matches); none: any path. */
    readonly paths?: readonly string[];
    readonly action: AlbAction;
}

export interface AlbListener {
    readonly port: number;
    readonly protocol: "HTTP" | "HTTPS";
    /** The default certificate first, then the SNI ones (HTTPS only). */
    readonly certificates: readonly AlbCertificate[];
    readonly sslProtocols: readonly string[];
    /** By priority, lowest first: the order the ALB evaluates them. */
    readonly rules: readonly AlbRule[];
    readonly defaultAction: AlbAction;
}

export interface AlbModel {
    /** Seconds an idle client connection stays open (the load balancer's idle_timeout.timeout_seconds). */
    readonly idleTimeout: number;
    readonly listeners: readonly AlbListener[];
}

const T = {
    loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
    listener: "aws:lb/listener:Listener",
    rule: "aws:lb/listenerRule:ListenerRule",
    listenerCertificate: "aws:lb/listenerCertificate:ListenerCertificate",
    certificate: "aws:acm/certificate:Certificate",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
};

/** TLS versions of the ALB security policies the stand-in knows (Elastic Load Balancing user guide, "Security policies"). */
const SSL_POLICIES: Record<string, string[]> = {
    "ELBSecurityPolicy-TLS13-1-2-2021-06": ["TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": ["TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-3-2021-06": ["TLSv1.3"],
    "ELBSecurityPolicy-2016-08": ["TLSv1", "TLSv1.1", "TLSv1.2"],
};
/** The ALB's idle timeout when the program sets none (Elastic Load Balancing user guide, "Connection idle timeout"). */
const DEFAULT_IDLE_TIMEOUT = 60;
/** The ALB's default policy when a listener names none. */
const DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08";

class Unsupported extends Error {
    constructor(what: string, value: unknown) {
        super(`ALB stand-in: cannot express ${what}: ${JSON.stringify(value)}`);
        this.name = "UnsupportedAlbFeature";
    }
}

const arnOf = (r: DeclaredResource): string | undefined => r.outputs?.arn;

/** The one application load balancer of the declared resources, as the stand-in will serve it. */
export function albModel(resources: readonly DeclaredResource[]): AlbModel {
    const albs = resources.filter(r => r.type === T.loadBalancer && r.inputs.loadBalancerType === "application");
    if (albs.length !== 1) throw new Error(`ALB stand-in: expected one application load balancer, found ${albs.length}`);
    const albArn = arnOf(albs[0]);
    const listeners = resources.filter(r => r.type === T.listener && r.inputs.loadBalancerArn === albArn);
    if (listeners.length === 0) throw new Error("ALB stand-in: the ALB has no listener");
    const targetGroups = new Set(resources.filter(r => r.type === T.targetGroup && r.inputs.protocol === "HTTP").map(arnOf));
    const forwardTargets = new Set<string>();
    const action = (raw: any, where: string): AlbAction => {
        const a = parseAction(raw, where);
        if (a.type === "forward") {
            if (!targetGroups.has(a.targetGroupArn)) throw new Unsupported(`${where}: forward to a target group that is not a declared HTTP target group`, raw);
            forwardTargets.add(a.targetGroupArn);
        }
        return a;
    };
    const model: AlbModel = {
        idleTimeout: Number(albs[0].inputs.idleTimeout ?? DEFAULT_IDLE_TIMEOUT),
        listeners: listeners.map(l => {
            const port = Number(l.inputs.port);
            const where = `listener ${port}`;
            const protocol = l.inputs.protocol;
            if (protocol !== "HTTP" && protocol !== "HTTPS") throw new Unsupported(`${where} protocol`, protocol);
            const certificateArns = protocol === "HTTPS" ? [l.inputs.certificateArn,
                ...resources.filter(r => r.type === T.listenerCertificate && r.inputs.listenerArn === arnOf(l)).map(r => r.inputs.certificateArn)] : [];
            const policy = l.inputs.sslPolicy ?? DEFAULT_SSL_POLICY;
            if (protocol === "HTTPS" && !SSL_POLICIES[policy]) throw new Unsupported(`${where} ssl policy`, policy);
            const defaults: unknown[] = l.inputs.defaultActions ?? [];
            if (defaults.length !== 1) throw new Unsupported(`${where} default actions (exactly one)`, defaults);
            const rules = resources.filter(r => r.type === T.rule && r.inputs.listenerArn === arnOf(l)).map(r => {
                const priority = Number(r.inputs.priority);
                const ruleWhere = `${where} rule ${priority}`;
                const actions: unknown[] = r.inputs.actions ?? [];
                if (actions.length !== 1) throw new Unsupported(`${ruleWhere} actions (exactly one)`, actions);
                return { priority, ...parseConditions(r.inputs.conditions ?? [], ruleWhere), action: action(actions[0], ruleWhere) };
            }).sort((a, b) => a.priority - b.priority);
            const priorities = rules.map(r => r.priority);
            if (new Set(priorities).size !== priorities.length || priorities.some(p => !Number.isInteger(p) || p < 1 || p > 50000)) {
                throw new Error(`ALB stand-in: ${where} rule priorities must be distinct integers 1-50000 (as the ALB requires), got ${priorities.join(", ")}`);
            }
            return {
                port, protocol, rules,
                certificates: certificateArns.map(arn => certificate(resources, arn, where)),
                sslProtocols: protocol === "HTTPS" ? SSL_POLICIES[policy] : [],
                defaultAction: action(defaults[0], `${where} default action`),
            };
        }),
    };
    if (forwardTargets.size > 1) throw new Unsupported("forwards to more than one target group (the stand-in has one httpbin)", [...forwardTargets]);
    return model;
}

function certificate(resources: readonly DeclaredResource[], arn: unknown, where: string): AlbCertificate {
    const declared = resources.find(r => r.type === T.certificate && arnOf(r) === arn);
    // With cnCertificateArn the program declares no certificate for the china domain: its names are not
    // in the program, so the stand-in refuses rather than guess them.
    if (!declared) {
        throw new Error(`ALB stand-in: ${where} uses certificate ${String(arn)}, which the program does not declare ` +
            "(cross-region-proxy:cnCertificateArn?); the lab needs a declared certificate to know its names: run it without cnCertificateArn");
    }
    return { arn: String(arn), names: [declared.inputs.domainName, ...(declared.inputs.subjectAlternativeNames ?? [])].map(String) };
}

function parseConditions(conditions: any[], where: string): { hosts?: string[]; paths?: string[] } {
    const out: { hosts?: string[]; paths?: string[] } = {};
    for (const c of conditions) {
        const keys = Object.keys(c).filter(k => c[k] !== undefined);
        const key = keys[0];
        const values = c[key]?.values;
        if (keys.length !== 1 || !["hostHeader", "pathPattern"].includes(key) || !Array.isArray(values) || Object.keys(c[key]).length !== 1) {
            throw new Unsupported(`${where} condition (only hostHeader or pathPattern values)`, c);
        }
        const field = key === "hostHeader" ? "hosts" : "paths";
        if (out[field]) throw new Unsupported(`${where}: two ${key} conditions`, conditions);
        out[field] = values.map(String);
    }
    return out;
}

function parseAction(a: any, where: string): AlbAction {
    switch (a?.type) {
        case "forward": {
            const groups: any[] | undefined = a.forward?.targetGroups;
            const arn = a.targetGroupArn ?? (groups?.length === 1 ? groups[0].arn : undefined);
            if (typeof arn !== "string") throw new Unsupported(`${where} forward (one target group)`, a);
            return { type: "forward", targetGroupArn: arn };
        }
        case "fixed-response": {
            const f = a.fixedResponse ?? {};
            const body = String(f.messageBody ?? "");
            // nginx's return text interpolates $ and needs \ and " escaped: refuse rather than misrender.
            if (/[$\\"]/.test(body)) throw new Unsupported(`${where} fixed-response body with $, \\ or "`, body);
            return { type: "fixed-response", statusCode: Number(f.statusCode), contentType: String(f.contentType ?? "text/plain"), body };
        }
        case "redirect": {
            const r = a.redirect ?? {};
            // Only what the program uses: protocol and port; host, path and query keep the request's.
            const defaults: Record<string, string> = { host: "#{host}", path: "/#{path}", query: "#{query}" };
            for (const [k, v] of Object.entries(defaults)) {
                if (r[k] !== undefined && r[k] !== v) throw new Unsupported(`${where} redirect ${k}`, r[k]);
            }
            const protocol = r.protocol === undefined || r.protocol === "#{protocol}" ? undefined : r.protocol;
            if (protocol !== undefined && protocol !== "HTTP" && protocol !== "HTTPS") throw new Unsupported(`${where} redirect protocol`, r.protocol);
            const port = r.port === undefined || r.port === "#{port}" ? undefined : Number(r.port);
            const statusCode = r.statusCode === "HTTP_301" ? 301 : r.statusCode === "HTTP_302" ? 302 : undefined;
            if (!statusCode) throw new Unsupported(`${where} redirect status`, r.statusCode);
            return { type: "redirect", protocol, port, statusCode };
        }
        default:
            throw new Unsupported(`${where} action type`, a);
    }
}

const escapeRegex = (s: string) => s.replace(/[.+^${}()|[\]\\/]/g, "\\$&");

/**
 * ALB host condition semantics as a regex over the lowercased host: case-insensitive, `*` is 0 or more
 * characters (so `*.x` matches any name ending in `.x`, at any depth), `?` exactly one (AWS CloudFormation
 * reference, ListenerRule HostHeaderConfig). Hosts never contain a space: the space ends the host part of
 * the key the stand-in matches on ("$host $request_uri").
 */
export function hostRegex(pattern: string): string {
    if (/[^A-Za-z0-9.*?-]/.test(pattern)) throw new Unsupported("host pattern characters (A-Z a-z 0-9 - . * ?)", pattern);
    return escapeRegex(pattern.toLowerCase()).replace(/[*?]/g, w => (w === "*" ? "[^ ]*" : "[^ ]"));
}

/** ALB path condition semantics: case-sensitive, on the path only (not the query), `*` and `?` wildcards. */
export function pathRegex(pattern: string): string {
    if (!pattern.startsWith("/") && !pattern.startsWith("*")) throw new Unsupported("path pattern not starting with / or *", pattern);
    return escapeRegex(pattern).replace(/[*?]/g, w => (w === "*" ? "[^? ]*" : "[^? ]"));
}

/** The regex a rule's conditions make over "<lowercased host> <request URI>". */
export function ruleRegex(rule: Pick<AlbRule, "hosts" | "paths">): string {
    const host = rule.hosts ? `(?:${rule.hosts.map(hostRegex).join("|")})` : "[^ ]*";
    const path = rule.paths ? `(?:${rule.paths.map(pathRegex).join("|")})` : "[^? ]*";
    return `^${host} ${path}(?:\\?.*)?$`;
}

/** What the ALB does for a request on a listener: the first rule by priority that matches, else the default. */
export function evaluate(listener: AlbListener, host: string, requestUri: string): { readonly priority?: number; readonly action: AlbAction } {
    const key = `${host.toLowerCase()} ${requestUri}`;
    const rule = listener.rules.find(r => new RegExp(ruleRegex(r)).test(key));
    return rule ? { priority: rule.priority, action: rule.action } : { action: listener.defaultAction };
}

/** TLS wildcard semantics for certificate names: `*` is exactly one label (RFC 6125). */
export function certificateNameRegex(name: string): string {
    const lower = name.toLowerCase();
    return lower.startsWith("*.") ? `[^.]+\\.${escapeRegex(lower.slice(2))}` : escapeRegex(lower);
}

export interface CertificateFiles { readonly cert: string; readonly key: string }

export interface AlbNginxOptions {
    readonly model: AlbModel;
    /** The PEM files the lab issued for a declared certificate. */
    readonly files: (certificate: AlbCertificate) => CertificateFiles;
    /** host:port of httpbin. */
    readonly upstream: string;
    /** Lab-only locations nginx answers before any rule (benchmarks measure the path, not httpbin). */
    readonly labLocations: string;
}

/**
 * The http{} part of the ALB stand-in: per listener, a map from "$host $request_uri" to the first matching
 * rule (nginx tests map regexes in order, so the order is the priority order), a map from the SNI to the
 * certificate (the listener's default when no name matches, as the ALB does), and a server that runs the
 * chosen action: forward to httpbin, or an internal location with the fixed response or redirect.
 */
export function albNginxServers(options: AlbNginxOptions): string {
    const q = (s: string) => `"${s.replace(/[\\"]/g, "\\$&")}"`;
    return options.model.listeners.map(l => {
        const id = `alb_${l.port}`;
        const ruleId = (r: { priority?: number }) => (r.priority === undefined ? "default" : `p${r.priority}`);
        const out: string[] = [`# listener ${l.protocol} ${l.port}: rules by priority, then the default action`];
        out.push(`map "$host $request_uri" $${id}_rule {`, `    default default;`);
        for (const r of l.rules) out.push(`    ${q(`~${ruleRegex(r)}`)} ${ruleId(r)};`);
        out.push("}");
        if (l.protocol === "HTTPS") {
            const [first] = l.certificates;
            for (const part of ["cert", "key"] as const) {
                out.push(`map $ssl_server_name $${id}_${part} {`, `    default ${q(options.files(first)[part])};`);
                for (const c of l.certificates) {
                    for (const name of c.names) out.push(`    ${q(`~*^${certificateNameRegex(name)}$`)} ${q(options.files(c)[part])};`);
                }
                out.push("}");
            }
        }
        const actions = [...l.rules, { priority: undefined, action: l.defaultAction }].filter(r => r.action.type !== "forward");
        out.push("server {");
        out.push(l.protocol === "HTTPS" ? `    listen ${l.port} ssl;` : `    listen ${l.port};`, `    keepalive_timeout ${options.model.idleTimeout}s;`);
        if (l.protocol === "HTTPS") {
            out.push(`    ssl_certificate $${id}_cert;`, `    ssl_certificate_key $${id}_key;`, `    ssl_protocols ${l.sslProtocols.join(" ")};`);
        }
        out.push(options.labLocations.replace(/^/gm, "    "));
        out.push("    location / {");
        for (const r of actions) out.push(`        if ($${id}_rule = ${ruleId(r)}) { rewrite ^ /__alb/${ruleId(r)} last; }`);
        out.push(`        proxy_pass http://${options.upstream};`,
            "        proxy_set_header Host $http_host;",
            "        # The ALB appends its TCP peer: with NLB-1 preserving addresses, the proxy's address.",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "        proxy_set_header X-Forwarded-Proto $scheme;",
            "        proxy_set_header X-Forwarded-Port $server_port;",
            "    }");
        for (const r of actions) {
            out.push(`    location = /__alb/${ruleId(r)} {`, "        internal;");
            const a = r.action;
            if (a.type === "fixed-response") {
                out.push(`        default_type ${q(a.contentType)};`, `        return ${a.statusCode} ${q(a.body)};`);
            } else if (a.type === "redirect") {
                const scheme = a.protocol ? a.protocol.toLowerCase() : "$scheme";
                // #{port} keeps the request's port; a port that is the protocol's default is left out of the URL.
                const defaultPort = a.protocol === "HTTPS" ? 443 : a.protocol === "HTTP" ? 80 : undefined;
                const port = a.port === undefined ? ":$server_port" : a.port === defaultPort ? "" : `:${a.port}`;
                out.push(`        return ${a.statusCode} ${scheme}://$host${port}$request_uri;`);
            }
            out.push("    }");
        }
        out.push("}");
        return out.join("\n");
    }).join("\n");
}
