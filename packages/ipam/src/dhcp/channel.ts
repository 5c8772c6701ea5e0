// Floor 3 (ipam/dhcp, daemon only): UDP port 68 inside the container's network namespace. The JS
// thread never enters a namespace and the addon has no UDP socket, so a tiny helper process does the
// socket I/O: `nsenter --net=<netns> perl -e <script> <ifname>` binds 0.0.0.0:68 with SO_BINDTODEVICE
// and SO_BROADCAST (so a DISCOVER goes out before the interface has an address or a route) and
// relays datagrams over its stdin/stdout as length-prefixed frames. Cost: one process per lease
// and a dependency on nsenter (util-linux) and perl (perl-base, Essential on Debian).
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
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
  /** The channel died on its own (helper exited, e.g. its namespace went away). */
  onClosed(reason: string): void;
}

export type ChannelOpener = (netnsPath: string, ifName: string, handlers: ChannelHandlers) => Promise<Channel>;

/** An error from the helper's sendto, with the errno name (ENETUNREACH, ENODEV, …). */
export class ChannelSendError extends Error {
  override readonly name = 'ChannelSendError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Frames both ways: u32 BE length of what follows, one type byte, then:
//   to helper   'S' dst-ip(4) dst-port(2) payload
//   from helper 'H' mac(6)                       socket ready
//               'R' src-ip(4) src-port(2) payload
//               'A'                              last send done
//               'E' "ERRNO-NAME message"          last send failed (a unicast from an interface
//                                                without an IPv4 address fails with EADDRNOTAVAIL:
//                                                sent from 0.0.0.0, a server's kernel would drop it
//                                                as a martian)
//               'F' message                      setup failed, exiting
const HELPER = String.raw`
use strict; use Socket; use IO::Select; use POSIX ();
my ($if, $port) = @ARGV; binmode STDIN; binmode STDOUT;
sub out { my ($t, $d) = @_; my $f = pack('N', 1 + length $d) . $t . $d; while (length $f) { my $n = syswrite(STDOUT, $f); exit 0 unless defined $n; substr($f, 0, $n) = ''; } }
sub fatal { out('F', $_[0] . ': ' . $!); exit 1; }
sub errname { my $e = $! + 0; for my $n (qw(ENETUNREACH EHOSTUNREACH ENETDOWN ENODEV ENXIO EADDRNOTAVAIL EPERM EACCES EMSGSIZE ENOBUFS EINVAL)) { my $v = eval "POSIX::$n()"; return $n if defined $v && $v == $e; } return "E$e"; }
socket(my $s, PF_INET, SOCK_DGRAM, 17) or fatal('socket');
setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1) or fatal('SO_REUSEADDR');
setsockopt($s, SOL_SOCKET, SO_BROADCAST, 1) or fatal('SO_BROADCAST');
setsockopt($s, SOL_SOCKET, 25, pack('Z*', $if)) or fatal("SO_BINDTODEVICE $if");
bind($s, pack_sockaddr_in($port, INADDR_ANY)) or fatal("bind 0.0.0.0:$port");
my $ifr = pack('a16 x24', $if); ioctl($s, 0x8927, $ifr) or fatal("SIOCGIFHWADDR $if");
out('H', substr($ifr, 18, 6));
my $sel = IO::Select->new(\*STDIN, $s); my $buf = '';
while (1) {
  for my $fh ($sel->can_read) {
    if ($fh == $s) {
      my $from = recv($s, my $pkt, 65535, 0);
      next unless defined $from;
      my ($p, $a) = unpack_sockaddr_in($from);
      out('R', $a . pack('n', $p) . $pkt);
      next;
    }
    my $n = sysread(STDIN, $buf, 65536, length $buf);
    exit 0 unless $n;
    while (length $buf >= 4) {
      my $len = unpack('N', $buf); last if length $buf < 4 + $len;
      my $f = substr($buf, 4, $len); substr($buf, 0, 4 + $len) = '';
      my $dport = unpack('n', substr($f, 5, 2)); my $daddr = substr($f, 1, 4);
      if ($daddr ne "\xff\xff\xff\xff") {
        my $q = pack('a16 x24', $if);
        unless (ioctl($s, 0x8915, $q)) { out('E', "EADDRNOTAVAIL no IPv4 address on $if to send a unicast from"); next; }
      }
      my $to = pack_sockaddr_in($dport, $daddr);
      if (defined send($s, substr($f, 7), 0, $to)) { out('A', '') } else { out('E', errname() . " $!") }
    }
  }
}
`;

function ip4Bytes(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

/** How long the helper may take to report its socket ready. */
const READY_TIMEOUT_MS = 10_000;

/** Opens a channel with the perl helper (see the module comment). `nsenter` and `perl` come from PATH. */
export const helperChannel: ChannelOpener = (netnsPath, ifName, handlers) =>
  new Promise((resolve, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn('nsenter', [`--net=${netnsPath}`, 'perl', '-e', HELPER, ifName, String(DHCP_CLIENT_PORT)], { stdio: 'pipe' });
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    let ready = false;
    let closed = false;
    let stderr = '';
    let buf: Buffer = Buffer.alloc(0);
    const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
    const readyTimer = setTimeout(() => fail(`helper did not open the socket within ${READY_TIMEOUT_MS / 1000}s`), READY_TIMEOUT_MS);

    const fail = (reason: string): void => {
      if (closed) return;
      closed = true;
      clearTimeout(readyTimer);
      child.kill('SIGKILL');
      for (const p of pending.splice(0)) p.reject(new ChannelSendError('ECHANNEL', `channel closed: ${reason}`));
      if (ready) handlers.onClosed(reason);
      else reject(new Error(`cannot open a DHCP socket on ${ifName} in ${netnsPath}: ${reason}`));
    };

    const transport: DhcpTransport = {
      send(payload, to) {
        if (closed) return Promise.reject(new ChannelSendError('ECHANNEL', 'channel closed'));
        const frame = Buffer.alloc(4 + 7 + payload.length);
        frame.writeUInt32BE(7 + payload.length, 0);
        frame.write('S', 4, 'latin1');
        ip4Bytes(to.address).copy(frame, 5);
        frame.writeUInt16BE(to.port, 9);
        frame.set(payload, 11);
        return new Promise<void>((res, rej) => {
          pending.push({ resolve: res, reject: rej });
          child.stdin.write(frame);
        });
      },
      close() {
        if (closed) return;
        closed = true;
        clearTimeout(readyTimer);
        for (const p of pending.splice(0)) p.reject(new ChannelSendError('ECHANNEL', 'channel closed'));
        child.stdin.end();
        // The helper exits on stdin EOF; make sure it does not outlive us in the namespace.
        setTimeout(() => child.kill('SIGKILL'), 1000).unref();
      },
    };

    const onFrame = (type: string, body: Buffer): void => {
      switch (type) {
        case 'H':
          ready = true;
          clearTimeout(readyTimer);
          resolve({ hwaddr: Uint8Array.from(body), transport });
          return;
        case 'R': {
          const port = body.readUInt16BE(4);
          if (port !== DHCP_SERVER_PORT) return;
          handlers.onDatagram(Uint8Array.from(body.subarray(6)), { address: [...body.subarray(0, 4)].join('.'), port });
          return;
        }
        case 'A':
          pending.shift()?.resolve();
          return;
        case 'E': {
          const text = body.toString('utf8');
          const code = text.split(' ', 1)[0] ?? 'EIO';
          pending.shift()?.reject(new ChannelSendError(code, `sendto: ${text}`));
          return;
        }
        case 'F':
          fail(body.toString('utf8'));
          return;
      }
    };

    child.stdout.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) break;
        const frame = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        onFrame(String.fromCharCode(frame[0]!), frame.subarray(1));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    child.on('error', (e) => fail(e.message));
    child.stdin.on('error', () => {});
    child.on('exit', (code, signal) => {
      const why = stderr.trim() || (signal !== null ? `killed by ${signal}` : `exited with ${code ?? '?'}`);
      fail(why);
    });
  });
