// What `pulumi up` would do with the URNs of a deployed stack: which resource of the program takes over which
// old one (same URN, or through an alias), which old ones it would delete and which it would create. Aliases
// are resolved as the engine resolves them (pulumi/pulumi pkg/resource/deploy/step_generator.go:
// collapseAliasToUrn, inheritedChildAlias, generateAliases, and generateSteps, which records the alias a
// resource matched so that its children inherit exactly that one), from the alias specs the SDK sent.
import type { AliasSpec, DeclaredResource } from "./mocks";

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** The parts of `urn:pulumi:<stack>::<project>::<qualified type>::<name>`. */
export function parseUrn(urn: string): { stack: string; project: string; qualifiedType: string; type: string; name: string } {
    const [head, project, qualifiedType, ...name] = urn.split("::");
    if (!head.startsWith("urn:pulumi:") || qualifiedType === undefined || name.length === 0) throw new Error(`not a URN: ${urn}`);
    return { stack: head.slice("urn:pulumi:".length), project, qualifiedType, type: qualifiedType.split("$").pop() as string, name: name.join("::") };
}

/** resource.NewURN / CreateURN: the parent's qualified type prefixes the type, except the root stack's. */
export function makeUrn(stack: string, project: string, parent: string | undefined, type: string, name: string): string {
    const parentType = parent ? parseUrn(parent).qualifiedType : undefined;
    const qualified = parentType === undefined || parentType === ROOT_STACK_TYPE ? type : `${parentType}$${type}`;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

export interface Migration {
    /** New URN -> the old URN it takes over, for every resource that keeps an old one (same URN included). */
    readonly adopted: ReadonlyMap<string, string>;
    /** Old URNs no resource takes over: `pulumi up` deletes them. */
    readonly deleted: readonly string[];
    /** New URNs that take over nothing: `pulumi up` creates them. */
    readonly created: readonly string[];
    /** Errors the engine would raise (two resources claiming one old URN). */
    readonly conflicts: readonly string[];
}

/** Replays the engine's step generation over `declared` (registration order) against the old URNs. */
export function migrate(oldUrns: Iterable<string>, declared: readonly DeclaredResource[]): Migration {
    const olds = new Set(oldUrns);
    const matchedAlias = new Map<string, string>();
    const adopted = new Map<string, string>();
    const claimedBy = new Map<string, string>();
    const conflicts: string[] = [];
    const seen = new Set(declared.map(r => r.urn));

    for (const resource of declared) {
        const { stack, project } = parseUrn(resource.urn);
        const collapse = (alias: AliasSpec): string => {
            if (alias.urn) return alias.urn;
            let parent = alias.parentUrn ?? resource.parent;
            if (alias.parentUrn !== undefined) parent = matchedAlias.get(alias.parentUrn) ?? parent;
            if (alias.noParent || (parent !== undefined && parseUrn(parent).qualifiedType === ROOT_STACK_TYPE)) parent = undefined;
            return makeUrn(alias.stack ?? stack, alias.project ?? project, parent, alias.type ?? resource.type, alias.name ?? resource.name);
        };
        const inherited = (type: string, name: string, parentAlias: string): string => {
            const parentName = parseUrn(resource.parent as string).name;
            const aliasName = name.startsWith(parentName) ? parseUrn(parentAlias).name + name.slice(parentName.length) : name;
            const { qualifiedType } = parseUrn(parentAlias);
            return `urn:pulumi:${stack}::${project}::${qualifiedType}$${type}::${aliasName}`;
        };
        const own = (resource.aliases ?? []).map(collapse);
        const candidates = [...own];
        const parentAlias = resource.parent === undefined ? undefined : matchedAlias.get(resource.parent);
        if (parentAlias !== undefined) {
            candidates.push(inherited(resource.type, resource.name, parentAlias));
            for (const alias of own) candidates.push(inherited(parseUrn(alias).type, parseUrn(alias).name, parentAlias));
        }
        const match = [resource.urn, ...candidates].find(urn => olds.has(urn));
        if (match === undefined) continue;
        if (match !== resource.urn) {
            if (seen.has(match)) conflicts.push(`${resource.urn} claims ${match} through an alias, but the program also declares ${match}`);
            matchedAlias.set(resource.urn, match);
        }
        const other = claimedBy.get(match);
        if (other !== undefined) conflicts.push(`${resource.urn} and ${other} both claim ${match}`);
        claimedBy.set(match, resource.urn);
        adopted.set(resource.urn, match);
    }
    return {
        adopted,
        deleted: [...olds].filter(urn => !claimedBy.has(urn)),
        created: declared.map(r => r.urn).filter(urn => !adopted.has(urn)),
        conflicts,
    };
}
