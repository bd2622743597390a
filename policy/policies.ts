// Every policy of the pack, in one array: index.ts serves it to the engine, the offline run and the tests call it.
import { Policies } from "@pulumi/policy";
import { encryptedVolumes, imdsv2Required, noKeyPair, noSsh, publicIngressOnlyToListeners } from "./ec2";
import { noWildcardGrants, putMetricDataByNamespace } from "./iam";
import { albTargetHealthCheck, loadBalancerDeletionProtection, nlbFrontingAlbHasElasticIps } from "./loadBalancers";
import { partitionArns, partitionServicePrincipals } from "./partition";
import { albListenerTls, cloudfrontTls } from "./tls";
import { userDataKeepsOtherRules, userDataSize } from "./userData";

export const policies: Policies = [
    imdsv2Required, noKeyPair, encryptedVolumes, noSsh, publicIngressOnlyToListeners,
    partitionArns, partitionServicePrincipals,
    albListenerTls, cloudfrontTls,
    nlbFrontingAlbHasElasticIps, albTargetHealthCheck, loadBalancerDeletionProtection,
    noWildcardGrants, putMetricDataByNamespace,
    userDataSize, userDataKeepsOtherRules,
];
