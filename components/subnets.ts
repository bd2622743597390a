// Subnet layout of a VPC, as a pure function: public subnets first, private ones from the middle of the
// block, each 1/16 of the VPC, so growing the AZ count never renumbers an existing subnet.

/** The i-th block of size 2^(32-newPrefix) inside cidr. */
export function subnetCidr(vpcCidr: string, newBits: number, index: number): string {
    const [base, prefixText] = vpcCidr.split("/");
    const prefix = Number(prefixText) + newBits;
    const start = base.split(".").reduce((n, o) => n * 256 + Number(o), 0) + index * 2 ** (32 - prefix);
    const octets = [24, 16, 8, 0].map(shift => Math.floor(start / 2 ** shift) % 256);
    return `${octets.join(".")}/${prefix}`;
}

export interface SubnetLayout {
    readonly publicCidrs: string[];
    readonly privateCidrs: string[];
}

export function subnetLayout(vpcCidr: string, zoneCount: number): SubnetLayout {
    return {
        publicCidrs: Array.from({ length: zoneCount }, (_, i) => subnetCidr(vpcCidr, 4, i)),
        privateCidrs: Array.from({ length: zoneCount }, (_, i) => subnetCidr(vpcCidr, 4, 8 + i)),
    };
}
