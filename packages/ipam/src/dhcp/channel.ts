// Floor 3 (ipam/dhcp, daemon only): UDP port 68 inside the container's network namespace, on one
// interface. @tscni/netlink creates the socket in the namespace (SO_BINDTODEVICE, so a DISCOVER goes
// out before the interface has an address or a route; SO_BROADCAST; SO_REUSEADDR, one socket per
// interface) and hands it over as a dgram socket; the MAC and the addresses come from rtnetlink in
// the same namespace. The JS thread never enters the namespace.
import type { Socket } from 'node:dgram';
import { AF_INET, RtNetlink, openUdpSocketInNetns } from '@tscni/netlink';
import type { Destination, DhcpTransport } from './client.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT } from './message.js';

/** A client socket in a namespace: its interface's MAC, a transport, and incoming datagrams. */
export interface Channel {
  hwaddr: Uint8Array;
  transport: DhcpTransport;
}

export interface ChannelHandlers {
  /** A datagram from a server port (67). */
  onDatagram(payload: Uint8Array, from: Destination): void;
  /** The channel died on its own (its socket failed). */
  onClosed(reason: string): void;
}

export type ChannelOpener = (netnsPath: string, ifName: string, handlers: ChannelHandlers) => Promise<Channel>;

/** A send that failed, with the errno name (ENETUNREACH, ENODEV, EADDRNOTAVAIL, …). */
export class ChannelSendError extends Error {
  override readonly name = 'ChannelSendError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const BROADCAST = '255.255.255.255';

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function macBytes(mac: string | undefined, ifName: string): Uint8Array {
  const bytes = (mac ?? '').split(':').map((h) => Number.parseInt(h, 16));
  if (bytes.length !== 6 || bytes.some((b) => !(b >= 0 && b <= 255))) {
    throw new Error(`${ifName} has no Ethernet address (${mac ?? 'none'}) to put in chaddr`);
  }
  return Uint8Array.from(bytes);
}

/** Opens a channel through @tscni/netlink (see the module comment). */
export const netnsChannel: ChannelOpener = async (netnsPath, ifName, handlers) => {
  let rt: RtNetlink | undefined;
  let socket: Socket | undefined;
  let index: number;
  let hwaddr: Uint8Array;
  try {
    rt = RtNetlink.open(netnsPath);
    const link = await rt.getLink(ifName);
    index = link.index;
    hwaddr = macBytes(link.mac, ifName);
    socket = await openUdpSocketInNetns(netnsPath, { port: DHCP_CLIENT_PORT, bindToDevice: ifName, broadcast: true, reuseAddr: true });
  } catch (e) {
    rt?.close();
    throw new Error(`cannot open a DHCP socket on ${ifName} in ${netnsPath}: ${errorText(e)}`, { cause: e });
  }
  const udp = socket;
  const rtnl = rt;
  let closed = false;

  const close = (): void => {
    if (closed) return;
    closed = true;
    udp.close();
    rtnl.close();
  };

  udp.on('message', (msg, from) => {
    if (from.port !== DHCP_SERVER_PORT) return;
    handlers.onDatagram(msg, { address: from.address, port: from.port });
  });
  udp.on('error', (e) => {
    if (closed) return;
    close();
    handlers.onClosed(`socket error: ${e.message}`);
  });

  // A unicast from an interface without an IPv4 address would leave with source 0.0.0.0 (the
  // socket is bound to the device), and a server's kernel drops that as a martian; failing here
  // lets the client fall back to broadcast (RELEASE) or report it.
  const unicastSource = async (): Promise<boolean> =>
    (await rtnl.listAddresses({ link: index, family: AF_INET })).length > 0;

  const transport: DhcpTransport = {
    async send(payload, to) {
      if (closed) throw new ChannelSendError('ECHANNEL', 'channel closed');
      if (to.address !== BROADCAST) {
        let ok: boolean;
        try {
          ok = await unicastSource();
        } catch (e) {
          throw new ChannelSendError('EADDRNOTAVAIL', `cannot read the addresses of ${ifName}: ${errorText(e)}`);
        }
        if (!ok) throw new ChannelSendError('EADDRNOTAVAIL', `no IPv4 address on ${ifName} to send a unicast from`);
        if (closed) throw new ChannelSendError('ECHANNEL', 'channel closed');
      }
      await new Promise<void>((resolve, reject) => {
        udp.send(payload, to.port, to.address, (e) => {
          if (e === null || e === undefined) resolve();
          else reject(new ChannelSendError((e as NodeJS.ErrnoException).code ?? 'EIO', `sendto ${to.address}:${to.port}: ${e.message}`));
        });
      });
    },
    close,
  };
  return { hwaddr, transport };
};
