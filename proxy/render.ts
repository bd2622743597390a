// One entry point for every caller (the CLI, IptablesProxyFleet, the lab): validated input in, artifact out.
import { renderForwardingScript } from "./script";
import { ForwardingInput, forwardingSpec } from "./spec";
import { renderUserData } from "./userData";

export type ArtifactFormat = "script" | "user-data";
export const FORMATS: readonly ArtifactFormat[] = ["script", "user-data"];

export function renderArtifact(format: ArtifactFormat, input: ForwardingInput,
    keys?: Parameters<typeof forwardingSpec>[1]): string {
    const spec = forwardingSpec(input, keys);
    return format === "script" ? renderForwardingScript(spec) : renderUserData(spec);
}
