// URN stability: a resource whose URN changes is deleted and created again by `pulumi up` unless an alias
// maps its old URN to the new one. The program's URNs are compared with the recorded ones (the current list
// and each deployed release's), aliases resolved as the engine resolves them (offline/urns.ts).
import * as assert from "node:assert/strict";
import { DeclaredResource } from "../offline/mocks";
import { runStack } from "../offline/run";
import { STACKS, URN_SCENARIOS, currentUrnFile, deployedLayouts, readUrns, shownPath } from "../offline/urnScenarios";
import { makeUrn, migrate, parseUrn } from "../offline/urns";

const urn = (qualifiedType: string, name: string) => `urn:pulumi:global::cross-region-proxy::${qualifiedType}::${name}`;
const resource = (qualifiedType: string, name: string, parent?: string, aliases: DeclaredResource["aliases"] = []): DeclaredResource => ({
    urn: urn(qualifiedType, name), type: qualifiedType.split("$").pop() as string, name, parent, aliases,
    custom: true, dependencies: [], ignoreChanges: [], propertyDependencies: {}, inputs: {},
});

describe("URN migration as the engine resolves aliases (pure)", () => {
    it("parses and builds URNs, the root stack adding no prefix", () => {
        assert.deepEqual(parseUrn(urn("a:b:C$d:e:F", "x::y")), { stack: "global", project: "cross-region-proxy", qualifiedType: "a:b:C$d:e:F", type: "d:e:F", name: "x::y" });
        assert.equal(makeUrn("global", "cross-region-proxy", urn("a:b:C$d:e:F", "p"), "g:h:I", "n"), urn("a:b:C$d:e:F$g:h:I", "n"));
        assert.equal(makeUrn("global", "cross-region-proxy", urn("pulumi:pulumi:Stack", "s"), "g:h:I", "n"), urn("g:h:I", "n"));
    });

    it("keeps a resource whose URN is unchanged, creates a new one and deletes one nothing adopts", () => {
        const kept = resource("t:m:Kept", "a");
        const m = migrate([kept.urn, urn("t:m:Gone", "b")], [kept, resource("t:m:New", "c")]);
        assert.deepEqual([...m.adopted], [[kept.urn, kept.urn]]);
        assert.deepEqual(m.created, [urn("t:m:New", "c")]);
        assert.deepEqual(m.deleted, [urn("t:m:Gone", "b")]);
    });

    it("adopts through an alias naming another parent, and children through the alias their parent matched", () => {
        const outer = resource("x:i:Outer", "app");
        const inner = resource("x:i:Outer$x:i:Inner", "app", outer.urn, [{ noParent: true }]);
        // The child's name starts with its parent's: the engine swaps the prefix for the matched alias's name.
        const child = resource("x:i:Outer$x:i:Inner$aws:s:B", "app-bucket", inner.urn);
        const m = migrate([urn("x:i:Inner", "app"), urn("x:i:Inner$aws:s:B", "app-bucket")], [outer, inner, child]);
        assert.equal(m.adopted.get(inner.urn), urn("x:i:Inner", "app"));
        assert.equal(m.adopted.get(child.urn), urn("x:i:Inner$aws:s:B", "app-bucket"));
        assert.deepEqual(m.deleted, []);
        assert.deepEqual(m.created, [outer.urn]);
    });

    it("gives children nothing from an alias their parent did not match", () => {
        const outer = resource("x:i:Outer", "app");
        const inner = resource("x:i:Outer$x:i:Inner", "app", outer.urn, [{ noParent: true }]);
        const child = resource("x:i:Outer$x:i:Inner$aws:s:B", "app-bucket", inner.urn);
        const m = migrate([urn("x:i:Inner$aws:s:B", "app-bucket")], [outer, inner, child]);
        assert.deepEqual(m.deleted, [urn("x:i:Inner$aws:s:B", "app-bucket")]);
    });

    it("reports two resources claiming one old URN, and an alias onto a URN the program also declares", () => {
        const a = resource("t:m:A", "a", undefined, [{ name: "old" }]);
        const b = resource("t:m:A", "b", undefined, [{ name: "old" }]);
        assert.equal(migrate([urn("t:m:A", "old")], [a, b]).conflicts.length, 1);
        const c = resource("t:m:A", "c", undefined, [{ name: "d" }]);
        assert.match(migrate([urn("t:m:A", "d")], [c, resource("t:m:A", "d")]).conflicts.join(), /also declares/);
    });
});

for (const stack of STACKS) {
    describe(`${stack} stack URNs (mocked)`, () => {
        let registered: DeclaredResource[];
        before(async () => { registered = (await runStack(stack, URN_SCENARIOS[stack])).resources; });

        it(`registers exactly the URNs recorded in ${shownPath(currentUrnFile(stack))}`, () => {
            const recorded = new Set(readUrns(currentUrnFile(stack)));
            const now = new Set(registered.map(r => r.urn));
            const added = [...now].filter(u => !recorded.has(u));
            const dropped = [...recorded].filter(u => !now.has(u));
            assert.deepEqual({ added, dropped }, { added: [], dropped: [] },
                "a URN changed: give the resource an alias for its old URN (see npm run urns), then record the new list with npm run urns -- --write");
        });

        it("declares no alias the engine would refuse", () => {
            for (const layout of [readUrns(currentUrnFile(stack)), ...deployedLayouts(stack).map(l => l.urns)]) {
                assert.deepEqual(migrate(layout, registered).conflicts, []);
            }
        });

        for (const layout of deployedLayouts(stack)) {
            it(`keeps every resource of a stack deployed as ${shownPath(layout.file)}`, () => {
                const { deleted, conflicts } = migrate(layout.urns, registered);
                assert.deepEqual({ deleted, conflicts }, { deleted: [], conflicts: [] });
            });
        }
    });
}

describe("global stack aliases (mocked)", () => {
    let registered: DeclaredResource[];
    before(async () => { registered = (await runStack("global", URN_SCENARIOS.global)).resources; });
    const layout = (name: string) => deployedLayouts("global").find(l => l.file.endsWith(`${name}-global.txt`))!.urns;

    it("instantiates HttpbinOnEks at the root, with AlbOnEks and Httpbin as its children", () => {
        const service = registered.find(r => r.type === "cross-region-proxy:index:HttpbinOnEks");
        assert.ok(service && service.parent === undefined);
        for (const part of ["AlbOnEks", "Httpbin"]) {
            assert.equal(registered.find(r => r.type === `cross-region-proxy:index:${part}`)?.parent, service.urn);
        }
    });

    it("lets the target group and the app record renamed since 0.1.0 take over their old resources", () => {
        const { adopted } = migrate(layout("0.1.0"), registered);
        const byOld = new Map([...adopted].map(([now, was]) => [was, now]));
        for (const type of ["aws:lb/targetGroup:TargetGroup", "aws:route53/record:Record"]) {
            const now = byOld.get(urn(`cross-region-proxy:index:HttpbinOnEks$${type}`, "httpbin-httpbin"));
            assert.equal(now, urn(`cross-region-proxy:index:HttpbinOnEks$cross-region-proxy:index:AlbOnEks$${type}`, "httpbin-app"));
        }
    });

    it("would lose the cluster, the ALB and the app of both earlier layouts without the aliases (the check can fail)", () => {
        const unaliased = registered.map(r => ({ ...r, aliases: [] }));
        for (const name of ["0.1.0", "0.2.0"]) {
            const deleted = migrate(layout(name), unaliased).deleted;
            for (const lost of ["eks:index:Cluster::httpbin-cluster", "aws:lb/loadBalancer:LoadBalancer::httpbin-alb", "kubernetes:apps/v1:Deployment::httpbin-httpbin"]) {
                assert.ok(deleted.some(u => u.endsWith(lost)), `${name}: ${lost} is deleted without aliases`);
            }
        }
    });
});
