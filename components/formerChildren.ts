// Aliases for resources that moved one level down: a component was put between them and the parent they had.
// The engine resolves an alias spec against the old state (pulumi/pulumi pkg/resource/deploy/step_generator.go,
// collapseAliasToUrn and generateAliases): a spec whose parent is the former parent names the old URN, and a
// spec without a parent is read with the resource's current one, so each such spec is repeated under the
// former parent too (a renamed resource that also moved needs both changes in one alias).
import * as pulumi from "@pulumi/pulumi";

/**
 * A transformation for a component whose direct children used to be direct children of `formerParent`: each
 * child also answers to its URN under `formerParent`. Given in the component's own options, it runs first for
 * the component itself (which keeps its own aliases), then for every resource created with it as parent.
 */
export function formerChildrenOf(formerParent: pulumi.Resource): pulumi.ResourceTransformation {
    let component: pulumi.Resource | undefined;
    return ({ resource, props, opts }) => {
        if (component === undefined) {
            component = resource;
            return undefined;
        }
        if (opts.parent !== component) {
            return undefined;
        }
        const own = opts.aliases ?? [];
        // Only specs written as objects without a parent follow the resource to its old place; a URN or a spec
        // with its own parent already names one exact old URN.
        const moved = own.filter((alias): alias is pulumi.Alias =>
            typeof alias === "object" && !pulumi.Output.isInstance(alias) && !("parent" in alias));
        return {
            props,
            opts: { ...opts, aliases: [...own, { parent: formerParent }, ...moved.map(alias => ({ ...alias, parent: formerParent }))] },
        };
    };
}
