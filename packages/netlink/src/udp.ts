// Namespace layer: a UDP socket that lives in another network namespace (what a DHCP client in a
// container needs). The addon creates and binds it on a short-lived thread inside the namespace;
// Node's dgram adopts the descriptor, so all sending and receiving is ordinary Node I/O.

import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { loadNative } from '@tscni/native';
import type { NativeBinding } from '@tscni/native';

export interface UdpSocketOptions {
  /** Local port; bound to 0.0.0.0:port (0 lets the kernel pick). */
  readonly port: number;
  /** SO_BINDTODEVICE: only this interface of the namespace. Such a socket can send (broadcasts)
   * before the interface has an address or a route. */
  readonly bindToDevice?: string;
  /** SO_BROADCAST. Default false. */
  readonly broadcast?: boolean;
  /** SO_REUSEADDR, e.g. one DHCP socket on port 68 per interface. Default false. */
  readonly reuseAddr?: boolean;
}

/**
 * An IPv4 UDP socket created and bound inside the namespace at `netnsPath` (null: our own), as a
 * bound `dgram.Socket` ('listening' already emitted). The socket keeps its namespace alive until it
 * is closed. Errors carry errno/code/syscall from the addon (ENOENT for a missing namespace, ENODEV
 * for a device that is not in it, EADDRINUSE).
 */
export async function openUdpSocketInNetns(netnsPath: string | null, opts: UdpSocketOptions, binding?: NativeBinding): Promise<Socket> {
  const b = binding ?? loadNative();
  const o: { port: number; bindToDevice?: string; broadcast?: boolean; reuseAddr?: boolean } = { port: opts.port };
  if (opts.bindToDevice !== undefined) o.bindToDevice = opts.bindToDevice;
  if (opts.broadcast !== undefined) o.broadcast = opts.broadcast;
  if (opts.reuseAddr !== undefined) o.reuseAddr = opts.reuseAddr;
  const fd = b.udpOpen(netnsPath, o);
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('listening', () => resolve(socket));
    try {
      // Adopting checks the descriptor is a UDP socket and starts receiving; from here on the
      // dgram socket owns the fd and closes it.
      // exclusive: a cluster worker must not hand the descriptor to its primary.
      socket.bind({ fd, exclusive: true });
    } catch (e) {
      b.close(fd);
      socket.close();
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
