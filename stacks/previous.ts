// What this stack published at its last update: read back through a StackReference to the stack itself
// (a supported pattern: pulumi/pulumi#3722, "reading an output of a stack back in to the same stack on
// future updates"). A first update reads nothing, and neither does `pulumi preview` of a new stack.
import * as pulumi from "@pulumi/pulumi";

/** This stack's fully qualified name, as a StackReference takes it. */
export const thisStack = () => `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;

/** The named outputs of this stack's last update (undefined where it published none). */
export async function previousOutputs(names: readonly string[]): Promise<Record<string, unknown>> {
    const self = new pulumi.StackReference(thisStack());
    return Object.fromEntries(await Promise.all(names.map(async name => [name, await self.getOutputValue(name)] as const)));
}
