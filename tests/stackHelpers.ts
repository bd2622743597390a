// Lookups over what a mocked run declared, shared by the stack tests.
import * as assert from "node:assert/strict";
import { DeclaredResource } from "../offline/mocks";
import { OfflineRun } from "../offline/run";

export function ofType(resources: DeclaredResource[], type: string): DeclaredResource[] {
    return resources.filter(r => r.type === type);
}

export function one(resources: DeclaredResource[], type: string, name?: string): DeclaredResource {
    const found = ofType(resources, type).filter(r => name === undefined || r.name === name);
    assert.equal(found.length, 1, `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
    return found[0];
}

/** Every string anywhere in a resource's inputs. */
export function strings(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(strings);
    if (value !== null && typeof value === "object") return Object.values(value).flatMap(strings);
    return [];
}

/** The StackReferences of a run to other stacks (each stack also reads its own last outputs: stacks/previous.ts). */
export function referencedStacks(resources: DeclaredResource[], self: string): DeclaredResource[] {
    return ofType(resources, "pulumi:pulumi:StackReference").filter(r => r.name !== self);
}

/** Every resource a resource waits for, directly or through others: what `pulumi up` creates before it and `pulumi destroy` deletes after it. */
export function waitsFor(run: OfflineRun, resource: DeclaredResource): Set<string> {
    const byUrn = new Map(run.resources.map(r => [r.urn, r]));
    const seen = new Set<string>();
    const stack = [...resource.dependencies];
    while (stack.length > 0) {
        const urn = stack.pop() as string;
        if (seen.has(urn)) continue;
        seen.add(urn);
        stack.push(...byUrn.get(urn)?.dependencies ?? []);
    }
    return seen;
}
