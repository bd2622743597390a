// One entry point for every caller (the CLI, IptablesProxyFleet, the lab): validated input in, artifact out.
import { renderHealthAgent } from "./agent";
import { renderForwardingScript } from "./script";
import { ForwardingInput, forwardingSpec } from "./spec";
import { renderUserData } from "./userData";

export type ArtifactFormat = "script" | "agent" | "user-data";
export const FORMATS: readonly ArtifactFormat[] = ["script", "agent", "user-data"];

export function renderArtifact(format: ArtifactFormat, input: ForwardingInput,
    keys?: Parameters<typeof forwardingSpec>[1]): string {
    const spec = forwardingSpec(input, keys);
    switch (format) {
        case "script": return renderForwardingScript(spec);
        case "agent": return renderHealthAgent(spec);
        case "user-data": return renderUserData(spec);
    }
}
