// The application of the global stack: httpbin on the platform's cluster, its pods bound to the platform's
// ALB target group. To publish another service, replace this component (its image, port and health path)
// and keep AlbOnEks: the ALB, NLB-1 and the china side do not change.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface HttpbinArgs {
    /** The cluster's Kubernetes provider (AlbOnEks.provider). */
    readonly provider: k8s.Provider;
    /** The Load Balancer Controller (AlbOnEks.controller): the TargetGroupBinding needs its CRD and webhook. */
    readonly controller: pulumi.Resource;
    /** The ALB target group the pods are registered in (AlbOnEks.targetGroupArn). */
    readonly targetGroupArn: pulumi.Input<string>;
    /** The ALB's security group, admitted to the pods by the controller. */
    readonly albSecurityGroupId: pulumi.Input<string>;
    readonly image: pulumi.Input<string>;
    readonly replicas: pulumi.Input<number>;
}

/** The path the ALB and NLB-1 health checks and the readiness probe ask for: it must answer 200. */
export const HEALTH_CHECK_PATH = "/status/200";
/** The port httpbin listens on (non-root, so above 1024). */
export const HTTPBIN_PORT = 8080;

export class Httpbin extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: HttpbinArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:Httpbin", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };

        // Spread over zones, non-root, read-only, probed on the same path as the load balancers.
        const labels = { app: "httpbin" };
        const namespace = new k8s.core.v1.Namespace(`${name}-httpbin`, { metadata: { name: "httpbin" } }, k8sOpts);
        const ns = namespace.metadata.name;
        new k8s.apps.v1.Deployment(`${name}-httpbin`, {
            metadata: { name: "httpbin", namespace: ns, labels },
            spec: {
                replicas: args.replicas,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
                        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } }],
                        containers: [{
                            name: "httpbin",
                            image: args.image,
                            ports: [{ name: "http", containerPort: HTTPBIN_PORT }],
                            env: [{ name: "PORT", value: String(HTTPBIN_PORT) }],
                            readinessProbe: { httpGet: { path: HEALTH_CHECK_PATH, port: "http" }, periodSeconds: 5 },
                            livenessProbe: { httpGet: { path: HEALTH_CHECK_PATH, port: "http" }, periodSeconds: 10, failureThreshold: 3 },
                            resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                        }],
                    },
                },
            },
        }, k8sOpts);
        new k8s.policy.v1.PodDisruptionBudget(`${name}-httpbin`, {
            metadata: { name: "httpbin", namespace: ns },
            spec: { minAvailable: 1, selector: { matchLabels: labels } },
        }, k8sOpts);
        const service = new k8s.core.v1.Service(`${name}-httpbin`, {
            metadata: { name: "httpbin", namespace: ns, labels },
            spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
        }, k8sOpts);
        // The controller registers the pods' IPs in the platform's target group and opens the pods to the ALB.
        new k8s.apiextensions.CustomResource(`${name}-httpbin`, {
            apiVersion: "elbv2.k8s.aws/v1beta1",
            kind: "TargetGroupBinding",
            metadata: { name: "httpbin", namespace: ns },
            spec: {
                serviceRef: { name: service.metadata.name, port: 80 },
                targetGroupARN: args.targetGroupArn,
                targetType: "ip",
                networking: {
                    ingress: [{ from: [{ securityGroup: { groupID: args.albSecurityGroupId } }], ports: [{ protocol: "TCP", port: HTTPBIN_PORT }] }],
                },
            },
        }, { ...k8sOpts, dependsOn: [args.controller] });

        this.namespace = ns;
        this.registerOutputs({ namespace: this.namespace });
    }
}
