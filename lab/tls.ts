// A throwaway certificate authority and the leaves the stand-ins serve, made with openssl at run time:
// one per certificate the ALB declares (TLS passes through NLB-2, the proxies and NLB-1 untouched and
// ends at the ALB), and the edge's viewer certificate.
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./exec";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes the lab CA in dir (ca.crt, ca.key); returns the certificate's path. */
export function makeCa(dir: string, runId: string): string {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = (name: string) => path.join(dir, name);
    run("openssl", ["req", "-x509", ...EC, "-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "2",
        "-subj", `/O=cross-region-proxy lab/CN=crp lab CA ${runId}`,
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    return file("ca.crt");
}

export interface LabLeaf {
    readonly cert: string;
    readonly key: string;
}

/** Issues a server certificate for these DNS names (wildcards allowed) from the CA in dir, as <stem>.crt/.key. */
export function issueLeaf(dir: string, stem: string, names: readonly string[]): LabLeaf {
    if (!/^[a-z0-9-]+$/.test(stem) || names.length === 0) throw new Error(`issueLeaf: bad stem '${stem}' or no names`);
    const file = (ext: string) => path.join(dir, `${stem}.${ext}`);
    run("openssl", ["req", ...EC, "-keyout", file("key"), "-out", file("csr"), "-subj", `/O=cross-region-proxy lab/CN=${names[0]}`]);
    fs.writeFileSync(file("ext"), [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=${names.map(n => `DNS:${n}`).join(",")}`,
        "",
    ].join("\n"));
    run("openssl", ["x509", "-req", "-in", file("csr"), "-CA", path.join(dir, "ca.crt"), "-CAkey", path.join(dir, "ca.key"),
        "-CAcreateserial", "-out", file("crt"), "-days", "2", "-extfile", file("ext")]);
    return { cert: file("crt"), key: file("key") };
}
