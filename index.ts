// cross-region-proxy: one Pulumi project, two stacks. `cross-region-proxy:role` in the stack file picks
// the program; every setting is checked before any resource is declared.
import * as pulumi from "@pulumi/pulumi";
import { parseChinaConfig } from "./config/china";
import { parseGlobalConfig } from "./config/global";
import { parseRole } from "./config";
import { pulumiConfigSource } from "./config/reader";
import { chinaStack } from "./stacks/china";
import { globalStack } from "./stacks/global";

const source = pulumiConfigSource();
const region = new pulumi.Config("aws").get("region");

// An async program (the Node.js host awaits a returned promise): the china stack reads the global stack's
// outputs and checks them before it declares anything.
export = parseRole(source) === "global"
    ? globalStack(parseGlobalConfig(source, region, pulumi.getStack()))
    : chinaStack(parseChinaConfig(source, region));
