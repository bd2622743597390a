// IAM: no administrator-shaped grants, and metrics only into a named namespace.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { list, policyDocuments } from "./facts";

/** Every Allow statement of a resource's IAM documents, with the document's path. */
const allowStatements = (type: string, props: Record<string, any>) => policyDocuments(type, props)
    .flatMap(({ path, statements }) => statements.filter(s => s.Effect === "Allow").map(statement => ({ path, statement })));

/** `*` or a whole service (`ec2:*`) on every resource: administrator rights, which nothing here needs. */
export const noWildcardGrants: ResourceValidationPolicy = {
    name: "iam-no-wildcard-action-on-all-resources",
    description: "No Allow statement grants \"*\" or \"<service>:*\" on Resource \"*\" (the Load Balancer Controller's published policy names its actions).",
    validateResource: (args, report) => {
        for (const { path, statement } of allowStatements(args.type, args.props)) {
            const wild = list(statement.Action).filter(a => a === "*" || /^[a-z0-9-]+:\*$/i.test(a));
            if (wild.length > 0 && list(statement.Resource).includes("*")) {
                report(`${path}: ${wild.join(", ")} on Resource "*"; name the actions`);
            }
        }
    },
};

const grantsPutMetricData = (action: string) => /^(\*|cloudwatch:(\*|put\*|putmetric\*|putmetricdata))$/i.test(action);

export const putMetricDataByNamespace: ResourceValidationPolicy = {
    name: "iam-put-metric-data-namespace",
    description: "An Allow of cloudwatch:PutMetricData carries a cloudwatch:namespace condition.",
    validateResource: (args, report) => {
        for (const { path, statement } of allowStatements(args.type, args.props)) {
            if (!list(statement.Action).some(grantsPutMetricData)) continue;
            const keys = Object.values(statement.Condition ?? {}).flatMap(block => Object.keys(block ?? {}));
            if (!keys.some(key => key.toLowerCase() === "cloudwatch:namespace")) {
                report(`${path}: cloudwatch:PutMetricData without a cloudwatch:namespace condition lets the role write any namespace`);
            }
        }
    },
};
