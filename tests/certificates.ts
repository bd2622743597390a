// Certificates and keys made at test time with openssl (never committed keys): a self-signed certificate
// for *.poc1010.example.com and its key, another key, and a certificate for another domain.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

function selfSigned(commonName: string): { cert: string; key: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crp-cert-"));
    try {
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "30",
            "-subj", `/CN=${commonName}`, "-addext", `subjectAltName=DNS:${commonName}`], { stdio: "ignore" });
        return { cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"), key: fs.readFileSync(path.join(dir, "key.pem"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const china = selfSigned("*.poc1010.example.com");
const other = selfSigned("*.example.org");

/** A certificate for *.poc1010.example.com, valid for 30 days from now, and its private key. */
export const CERT = china.cert;
export const KEY = china.key;
/** A key of another certificate. */
export const OTHER_KEY = other.key;
/** A certificate that does not cover the china domain. */
export const OTHER_CERT = other.cert;
