// A self-signed certificate for *.poc1010.example.com (valid until 2126) whose private key was discarded:
// offline scenarios upload it to CloudFront with an undecrypted secret for the key, so the checks that
// need the certificate run and the key comparison is skipped (config/china.ts, checkServerCertificate).
import { UNDECRYPTED_SECRET } from "../config/reader";

export const OFFLINE_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBuTCCAV+gAwIBAgIUUCXfZ6h7b6UF/1mgHOLfonrvDB4wCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVKi5wb2MxMDEwLmV4YW1wbGUuY29tMCAXDTI2MTEyOTE3MzA0
MVoYDzIxMjYxMTA1MTczMDQxWjAgMR4wHAYDVQQDDBUqLnBvYzEwMTAuZXhhbXBs
ZS5jb20wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASPsa3igiAVPtHYommmhkLE
FI4q5oO9iRS/ZwSEpQmVjnwzeQDQTJJ0GiOI7Ed/9zI7qLAousNqWC6/kZMhOv+c
o3UwczAdBgNVHQ4EFgQUg0NbxLTVal4wD1WbQC+GtH1gdmQwHwYDVR0jBBgwFoAU
g0NbxLTVal4wD1WbQC+GtH1gdmQwDwYDVR0TAQH/BAUwAwEB/zAgBgNVHREEGTAX
ghUqLnBvYzEwMTAuZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDSAAwRQIgOYeK3fRo
+xb298qAtsAdIcwrWafY4Jpk91kgyotAjuMCIQC5lsIkjsJTBE2p5ZSEDblHK2fa
31l1EOlyme27k4ku3g==
-----END CERTIFICATE-----`;

/** The china stack with CloudFront on in aws-cn: the offline certificate uploaded, its key an undecrypted secret. */
export const CLOUDFRONT_IN_CHINA = {
    overrides: {
        "cross-region-proxy:cloudfrontEnabled": "true",
        "cross-region-proxy:cloudfrontCertificateBody": OFFLINE_CERTIFICATE,
        "cross-region-proxy:cloudfrontCertificateChain": OFFLINE_CERTIFICATE,
        "cross-region-proxy:cloudfrontPrivateKey": UNDECRYPTED_SECRET,
    },
    secretKeys: ["cross-region-proxy:cloudfrontPrivateKey"],
} as const;
