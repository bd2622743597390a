// The ALB's listeners, the one home of the fact "80 is HTTP, 443 is HTTPS": the ALB declares exactly these,
// NLB-1 forwards only to these ports (an ALB-type target group must use an ALB listener port) and health-
// checks each with its protocol, and the global config validates listenerPorts against them.
export interface AlbListener {
    readonly port: number;
    readonly protocol: "HTTP" | "HTTPS";
}

export const ALB_LISTENERS: readonly AlbListener[] = [{ port: 80, protocol: "HTTP" }, { port: 443, protocol: "HTTPS" }];

export const ALB_LISTENER_PORTS: readonly number[] = ALB_LISTENERS.map(l => l.port);

/** The ALB listener on a port; undefined when the ALB has none there. */
export function albListener(port: number): AlbListener | undefined {
    return ALB_LISTENERS.find(l => l.port === port);
}
