// A stand-in `aws` command for the agent's labs: on PATH before any real one, it records each call (time,
// exit status, arguments) instead of sending it. Like AWS, it refuses complete-lifecycle-action while the
// instance is not yet waiting on the hook: until the file named by CRP_AWS_HOOK_ACTIVE exists (when set).
import * as fs from "node:fs";
import * as path from "node:path";

export interface AwsCall {
    /** Milliseconds since the epoch. */
    readonly at: number;
    readonly status: number;
    readonly args: string[];
}

/** Writes the stand-in into DIR/aws-bin and returns that folder (put it first on PATH; CRP_AWS_RECORD names the record). */
export function awsStandIn(dir: string): string {
    const bin = path.join(dir, "aws-bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "aws"), `#!/bin/bash
status=0
if [[ " $* " == *" complete-lifecycle-action "* && -n \${CRP_AWS_HOOK_ACTIVE:-} && ! -e $CRP_AWS_HOOK_ACTIVE ]]; then
  echo "An error occurred (ValidationError) when calling the CompleteLifecycleAction operation: No active Lifecycle Action found" >&2
  status=254
fi
# One write per call: the agent calls in the background, sometimes two at once.
line=$(printf '%s\\x1f%s\\x1f' "$(date +%s%3N)" "$status"; printf '%s\\x1f' "$@")
printf '%s\\n' "$line" >>"$CRP_AWS_RECORD"
exit $status
`, { mode: 0o755 });
    return bin;
}

/** Every call recorded in FILE, in order. */
export function recordedCalls(file: string): AwsCall[] {
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(line => {
        const [at, status, ...args] = line.split("\x1f");
        return { at: Number(at), status: Number(status), args: args.filter(a => a !== "") };
    });
}

/** The arguments of every call recorded in FILE. */
export const recorded = (file: string) => recordedCalls(file).map(c => c.args);
