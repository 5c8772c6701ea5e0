// Layer 1 (spec): typed shapes of the well-known capability arguments (CONVENTIONS.md) that a
// runtime passes as `runtimeConfig` to plugins declaring `capabilities.<name>: true`.

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

/** Rates in bits per second, bursts in bits. */
export interface BandwidthEntry {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface IPRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface CapabilityArgs {
  portMappings?: PortMapping[];
  ipRanges?: IPRange[][];
  bandwidth?: BandwidthEntry;
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  ips?: string[];
  mac?: string;
  infinibandGUID?: string;
  deviceID?: string;
  aliases?: string[];
  cgroupPath?: string;
  [k: string]: unknown;
}

/** One entry of `cni.dev/valid-attachments` in a GC request. */
export interface GCAttachment {
  containerID: string;
  ifname: string;
}
