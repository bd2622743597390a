// The instance metadata service of a lab proxy (node, no dependencies), IMDSv2 as EC2 serves it: a PUT of
// /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds gives a token, and GET /latest/meta-data/PATH
// answers only with that token (401 without). Values come from a JSON file, read at every request, so a test
// changes autoscaling/target-lifecycle-state by rewriting it. Unknown paths: 404. Prints "ready".
//
//   imds --address 169.254.169.254 --values FILE
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { flag } from "./flag";

const args = process.argv.slice(2);
const file = flag(args, "values");
const tokens = new Set<string>();

const server = http.createServer((req, res) => {
    const answer = (status: number, body = "") => { res.writeHead(status, { "Content-Type": "text/plain" }); res.end(body); };
    if (req.method === "PUT" && req.url === "/latest/api/token") {
        if (req.headers["x-aws-ec2-metadata-token-ttl-seconds"] === undefined) return answer(400);
        const token = crypto.randomBytes(16).toString("hex");
        tokens.add(token);
        return answer(200, token);
    }
    const path = /^\/latest\/meta-data\/(.+)$/.exec(req.url ?? "")?.[1];
    if (req.method !== "GET" || path === undefined) return answer(404);
    if (!tokens.has(String(req.headers["x-aws-ec2-metadata-token"] ?? ""))) return answer(401);
    const values = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>;
    return values[path] === undefined ? answer(404) : answer(200, values[path]);
});
server.listen({ host: flag(args, "address"), port: 80 }, () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => process.exit(0));
