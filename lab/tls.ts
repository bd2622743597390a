// A throwaway certificate authority and one leaf for the ALB stand-in, made with openssl at run time.
// The leaf carries both wildcard names, as the ALB listener carries both certificates in the real system:
// TLS passes through NLB-2, the proxies and NLB-1 untouched and ends at the ALB.
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./exec";

export interface LabPki {
    readonly caCert: string;
    readonly leafCert: string;
    readonly leafKey: string;
    readonly names: readonly string[];
}

export function makePki(dir: string, runId: string, domains: readonly string[]): LabPki {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = (name: string) => path.join(dir, name);
    const names = domains.map(d => `*.${d}`);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run("openssl", ["req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "2",
        "-subj", `/O=cross-region-proxy lab/CN=crp lab CA ${runId}`,
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run("openssl", ["req", ...ec, "-keyout", file("leaf.key"), "-out", file("leaf.csr"),
        "-subj", `/O=cross-region-proxy lab/CN=${names[0]}`]);
    fs.writeFileSync(file("leaf.ext"), [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=${names.map(n => `DNS:${n}`).join(",")}`,
        "",
    ].join("\n"));
    run("openssl", ["x509", "-req", "-in", file("leaf.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
        "-CAcreateserial", "-out", file("leaf.crt"), "-days", "2", "-extfile", file("leaf.ext")]);
    return { caCert: file("ca.crt"), leafCert: file("leaf.crt"), leafKey: file("leaf.key"), names };
}
