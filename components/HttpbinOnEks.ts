// httpbin on EKS behind an ALB that answers for both domains.
//
// Why Pulumi owns the ALB and binds httpbin's pods to it with a TargetGroupBinding, instead of letting the
// Load Balancer Controller create the ALB from an Ingress: NLB-1 must attach to the ALB by ARN. A controller
// ALB exists only once the controller has reconciled the Ingress, so the first preview of an empty stack
// would have to look up a load balancer that does not exist yet, and `pulumi destroy` could not order the
// NLB attachment before the ALB. Owned by Pulumi, the ALB, its listeners (both certificates, a host rule
// for both domains) and the NLB attachment are one dependency graph; the controller only registers pod IPs.
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Partition } from "../core/partition";
import { dnsValidatedCertificate } from "./certificate";
import { ec2Role } from "./ec2Role";
import { lbControllerPolicy } from "./lbControllerPolicy";

export interface HttpbinOnEksArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly publicSubnetIds: pulumi.Input<string>[];
    readonly privateSubnetIds: pulumi.Input<string>[];
    /** Plain: it names the cluster and is a value of the controller's chart. */
    readonly clusterName: string;
    readonly kubernetesVersion: pulumi.Input<string>;
    readonly nodeInstanceType: pulumi.Input<string>;
    readonly nodeMinSize: pulumi.Input<number>;
    readonly nodeDesiredSize: pulumi.Input<number>;
    readonly nodeMaxSize: pulumi.Input<number>;
    readonly region: string;
    readonly partition: Partition;
    readonly domainName: string;
    readonly cnDomainName: string;
    readonly zoneId: pulumi.Input<string>;
    /** Zone of cnDomainName in this account; ignored when cnCertificateArn is given. */
    readonly cnZoneId?: pulumi.Input<string>;
    readonly cnCertificateArn?: pulumi.Input<string>;
    readonly httpbinImage: pulumi.Input<string>;
    readonly httpbinReplicas: pulumi.Input<number>;
    readonly lbControllerChartVersion: pulumi.Input<string>;
}

/** The path the NLB health check and the readiness probe ask for: it must reach httpbin and answer 200. */
export const HEALTH_CHECK_PATH = "/status/200";
const HTTPBIN_PORT = 8080;
const CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller";

/** Host patterns for both domains (ALB wildcards also match deeper names). */
export function hostPatterns(domainName: string, cnDomainName: string): string[] {
    return [`*.${domainName}`, `*.${cnDomainName}`];
}

export class HttpbinOnEks extends pulumi.ComponentResource {
    public readonly albArn: pulumi.Output<string>;
    public readonly albDnsName: pulumi.Output<string>;
    public readonly albZoneId: pulumi.Output<string>;
    public readonly certificateArns: pulumi.Output<string>[];
    public readonly httpbinUrl: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: HttpbinOnEksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:HttpbinOnEks", name, {}, opts);
        const partition = args.partition;

        // TLS ends at the ALB for both names: users of the global domain, and CloudFront/users of the china
        // domain whose TLS passes untouched through NLB-2, the proxies and NLB-1.
        const certificate = dnsValidatedCertificate(`${name}-global`, args.domainName, args.zoneId, this);
        const cnCertificate = args.cnCertificateArn !== undefined ? pulumi.output(args.cnCertificateArn)
            : dnsValidatedCertificate(`${name}-china`, args.cnDomainName, args.cnZoneId ?? args.zoneId, this);
        this.certificateArns = [certificate, cnCertificate];

        const cluster = new eks.Cluster(`${name}-cluster`, {
            name: args.clusterName,
            version: args.kubernetesVersion,
            vpcId: args.vpcId,
            publicSubnetIds: args.publicSubnetIds,
            privateSubnetIds: args.privateSubnetIds,
            nodeAssociatePublicIpAddress: false,
            skipDefaultNodeGroup: true,
            createOidcProvider: true,
            authenticationMode: eks.AuthenticationMode.Api,
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
        }, { parent: this });

        const nodeRole = ec2Role(`${name}-node`, partition,
            ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"], this);
        const nodes = new eks.ManagedNodeGroup(`${name}-nodes`, {
            cluster,
            nodeRole,
            subnetIds: args.privateSubnetIds,
            instanceTypes: [args.nodeInstanceType],
            scalingConfig: { minSize: args.nodeMinSize, desiredSize: args.nodeDesiredSize, maxSize: args.nodeMaxSize },
            enableIMDSv2: true,
        }, { parent: this });

        const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: cluster.kubeconfigJson, enableServerSideApply: true }, { parent: this });

        // The controller's identity: IRSA, trusted only for its own service account.
        const controllerRole = new aws.iam.Role(`${name}-lb-controller`, {
            assumeRolePolicy: pulumi.all([cluster.oidcProviderArn, cluster.oidcIssuer]).apply(([arn, host]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Federated: arn },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: {
                        StringEquals: {
                            [`${host}:sub`]: `system:serviceaccount:kube-system:${CONTROLLER_SERVICE_ACCOUNT}`,
                            [`${host}:aud`]: "sts.amazonaws.com",
                        },
                    },
                }],
            })),
        }, { parent: this });
        const controllerPolicy = new aws.iam.Policy(`${name}-lb-controller`, {
            description: "AWS Load Balancer Controller (published policy, this partition)",
            policy: JSON.stringify(lbControllerPolicy(partition)),
        }, { parent: this });
        new aws.iam.RolePolicyAttachment(`${name}-lb-controller`, {
            role: controllerRole.name,
            policyArn: controllerPolicy.arn,
        }, { parent: this });

        const controller = new k8s.helm.v4.Chart(`${name}-lb-controller`, {
            chart: "aws-load-balancer-controller",
            version: args.lbControllerChartVersion,
            repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
            namespace: "kube-system",
            values: {
                clusterName: args.clusterName,
                region: args.region,
                vpcId: args.vpcId,
                replicaCount: 2,
                serviceAccount: {
                    create: true,
                    name: CONTROLLER_SERVICE_ACCOUNT,
                    annotations: { "eks.amazonaws.com/role-arn": controllerRole.arn },
                },
            },
        }, { parent: this, provider, dependsOn: [nodes] });

        // The ALB: open to the internet on 80/443 (users reach httpbin.<domain> directly, and NLB-1 keeps
        // the client address, so the proxies' public addresses arrive here too).
        const albSecurityGroup = new aws.ec2.SecurityGroup(`${name}-alb`, {
            vpcId: args.vpcId,
            description: "httpbin ALB: HTTP and HTTPS from anywhere",
            ingress: [80, 443].map(port => ({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: ["0.0.0.0/0"] })),
            egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
            tags: { Name: `${name}-alb` },
        }, { parent: this });
        const alb = new aws.lb.LoadBalancer(`${name}-alb`, {
            loadBalancerType: "application",
            internal: false,
            subnets: args.publicSubnetIds,
            securityGroups: [albSecurityGroup.id],
            dropInvalidHeaderFields: true,
            tags: { Name: `${name}-alb` },
        }, { parent: this });
        const httpbinTargets = new aws.lb.TargetGroup(`${name}-httpbin`, {
            targetType: "ip",
            protocol: "HTTP",
            port: HTTPBIN_PORT,
            vpcId: args.vpcId,
            deregistrationDelay: 30,
            healthCheck: { path: HEALTH_CHECK_PATH, matcher: "200", interval: 10, healthyThreshold: 2, unhealthyThreshold: 3 },
        }, { parent: this });
        const notFound = { type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "unknown host" } };
        const https = new aws.lb.Listener(`${name}-https`, {
            loadBalancerArn: alb.arn,
            port: 443,
            protocol: "HTTPS",
            sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
            certificateArn: certificate,
            defaultActions: [notFound],
        }, { parent: this });
        // The second certificate is served by SNI for the china domain.
        new aws.lb.ListenerCertificate(`${name}-https-china`, { listenerArn: https.arn, certificateArn: cnCertificate }, { parent: this });
        const http = new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: alb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: [notFound],
        }, { parent: this });
        const hosts = { hostHeader: { values: hostPatterns(args.domainName, args.cnDomainName) } };
        const forward = { type: "forward", targetGroupArn: httpbinTargets.arn };
        // NLB-1 health checks arrive with the ALB's address as Host: only a path rule lets them reach httpbin
        // instead of the default 404, which would mark the whole ALB unhealthy.
        const healthCheck = { pathPattern: { values: [HEALTH_CHECK_PATH] } };
        [https, http].forEach((listener, i) => {
            const scheme = i === 0 ? "https" : "http";
            new aws.lb.ListenerRule(`${name}-${scheme}-health`, {
                listenerArn: listener.arn, priority: 10, conditions: [healthCheck], actions: [forward],
            }, { parent: this });
            new aws.lb.ListenerRule(`${name}-${scheme}-hosts`, {
                listenerArn: listener.arn,
                priority: 20,
                conditions: [hosts],
                actions: [i === 0 ? forward : { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
            }, { parent: this });
        });

        // httpbin itself: spread over zones, non-root, read-only, probed on the same path as the NLB.
        const labels = { app: "httpbin" };
        const namespace = new k8s.core.v1.Namespace(`${name}-httpbin`, { metadata: { name: "httpbin" } }, { parent: this, provider });
        const ns = namespace.metadata.name;
        new k8s.apps.v1.Deployment(`${name}-httpbin`, {
            metadata: { name: "httpbin", namespace: ns, labels },
            spec: {
                replicas: args.httpbinReplicas,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
                        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } }],
                        containers: [{
                            name: "httpbin",
                            image: args.httpbinImage,
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
        }, { parent: this, provider });
        new k8s.policy.v1.PodDisruptionBudget(`${name}-httpbin`, {
            metadata: { name: "httpbin", namespace: ns },
            spec: { minAvailable: 1, selector: { matchLabels: labels } },
        }, { parent: this, provider });
        const service = new k8s.core.v1.Service(`${name}-httpbin`, {
            metadata: { name: "httpbin", namespace: ns, labels },
            spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
        }, { parent: this, provider });
        // The controller registers the pods' IPs in our target group and opens the pods to the ALB.
        new k8s.apiextensions.CustomResource(`${name}-httpbin`, {
            apiVersion: "elbv2.k8s.aws/v1beta1",
            kind: "TargetGroupBinding",
            metadata: { name: "httpbin", namespace: ns },
            spec: {
                serviceRef: { name: service.metadata.name, port: 80 },
                targetGroupARN: httpbinTargets.arn,
                targetType: "ip",
                networking: {
                    ingress: [{ from: [{ securityGroup: { groupID: albSecurityGroup.id } }], ports: [{ protocol: "TCP", port: HTTPBIN_PORT }] }],
                },
            },
        }, { parent: this, provider, dependsOn: [controller] });

        new aws.route53.Record(`${name}-httpbin`, {
            zoneId: args.zoneId,
            name: `httpbin.${args.domainName}`,
            type: "A",
            aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
        }, { parent: this });

        // NLB-1 may register the ALB only once it has a listener on the target group's port, and must
        // deregister it before the listeners go: the ARN the component hands out carries them as dependencies.
        this.albArn = pulumi.all([alb.arn, https.arn, http.arn]).apply(([arn]) => arn);
        this.albDnsName = alb.dnsName;
        this.albZoneId = alb.zoneId;
        this.httpbinUrl = pulumi.output(`https://httpbin.${args.domainName}/`);
        this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
        this.registerOutputs({
            albArn: this.albArn, albDnsName: this.albDnsName, albZoneId: this.albZoneId,
            certificateArns: this.certificateArns, httpbinUrl: this.httpbinUrl, kubeconfig: this.kubeconfig,
        });
    }
}
