/**
 * The only code that touches node:dgram. DHCP must answer on the interface a request came in on, with
 * that interface's address, and a socket bound to 0.0.0.0 cannot tell which interface a broadcast came
 * from. So we open one socket per interface bound to the device (SO_BINDTODEVICE): it then receives
 * only its interface's unicast and 255.255.255.255 broadcasts, and its broadcasts leave by that device.
 * Node's dgram cannot set SO_BINDTODEVICE, so the socket is made through libc (koffi) and handed over
 * to dgram by file descriptor.
 */
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { batchReceiver, directIoer } from './fast-io.js';
import { deviceBoundFd } from './device-socket.js';
import { SOL_SOCKET, SO_RCVBUFFORCE, loadLibc } from './libc.js';
import { socketFd } from './socket-fd.js';

export interface Endpoint {
  /** Interface name, or null when bound to an address (tests, single-homed hosts). */
  iface: string | null;
  /** This interface's IPv4 address (what we advertise as server identifier). */
  address: string;
}

export interface UdpListener {
  readonly endpoint: Endpoint;
  readonly port: number;
  send(buf: Uint8Array, port: number, address: string): void;
  close(): Promise<void>;
}

export type UdpHandler = (msg: Buffer, rinfo: dgram.RemoteInfo, endpoint: Endpoint) => void;

/** Receive queue for DHCP sockets: a boot storm must survive the event loop's short pauses (store batches). */
const RECV_QUEUE_BYTES = 4 * 1024 * 1024;

const ANY_ADDRESS = '0.0.0.0';

/**
 * Node caps recvBufferSize at net.core.rmem_max (about 208 KB by default: ~100 DISCOVERs). Where we
 * hold CAP_NET_ADMIN (root), SO_RCVBUFFORCE lifts that cap; elsewhere the capped size stays.
 */
function forceReceiveQueue(fd: number): void {
  const c = loadLibc();
  const size = Buffer.alloc(4);
  size.writeInt32LE(RECV_QUEUE_BYTES, 0);
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4);
}

/**
 * The subnets the endpoints answer, as network CIDRs (10.0.5.0/24), from the interfaces' addresses and
 * masks; an address no interface holds (a bind address on loopback in tests) is given as /32.
 */
export function endpointSubnets(endpoints: Array<{ address: string }>): string[] {
  const out = new Set<string>();
  const addrs = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => a.family === 'IPv4');
  for (const ep of endpoints) {
    const a = addrs.find((x) => x.address === ep.address);
    if (!a) {
      out.add(`${ep.address}/32`);
      continue;
    }
    const bits = Number(a.cidr?.split('/')[1] ?? 32);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    const n = (ep.address.split('.').reduce((v, o) => (v << 8) + Number(o), 0) >>> 0) & mask;
    out.add(`${[24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join('.')}/${bits}`);
  }
  return [...out];
}

/** IPv4 interfaces that are up, loopback excluded, with their first address. */
export function ipv4Interfaces(): Endpoint[] {
  const out: Endpoint[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) out.push({ iface: name, address: v4.address });
  }
  return out;
}

/** The endpoints to listen on: the named interfaces (each must exist with an IPv4 address), or all. */
export function resolveEndpoints(names: string[]): Endpoint[] {
  const all = ipv4Interfaces();
  if (names.length === 0) return all;
  return names.map((name) => {
    const ep = all.find((e) => e.iface === name);
    if (!ep) throw new Error(`interface ${name}: not found or has no IPv4 address (have: ${all.map((e) => e.iface).join(', ') || 'none'})`);
    return ep;
  });
}

export interface OpenOptions {
  port: number;
  endpoint: Endpoint;
  onMessage: UdpHandler;
  onError: (err: Error, endpoint: Endpoint) => void;
  /** A datagram longer than the batch receiver's slot (fast-io.ts) was dropped. */
  onOversize?: (bytes: number, from: dgram.RemoteInfo, endpoint: Endpoint) => void;
}

/** Opens one listener: device-bound when the endpoint names an interface, address-bound otherwise. */
export async function openUdp(opts: OpenOptions): Promise<UdpListener> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_QUEUE_BYTES });
  const { endpoint } = opts;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    let fd = -1;
    const done = () => {
      socket.off('error', reject);
      // After dgram applied its own (capped) recvBufferSize on listening.
      if (fd >= 0) forceReceiveQueue(fd);
      resolve();
    };
    if (endpoint.iface) {
      // 0.0.0.0: a DHCP socket must receive the device's broadcasts.
      fd = deviceBoundFd('udp', { device: endpoint.iface, address: ANY_ADDRESS, port: opts.port });
      socket.bind({ fd }, done);
    } else socket.bind({ port: opts.port, address: endpoint.address, exclusive: true }, done);
  });
  socket.setBroadcast(true);
  const fd = socketFd(socket);
  const batch = batchReceiver(fd, (msg, rinfo) => opts.onMessage(msg, rinfo, endpoint), (bytes, from) => opts.onOversize?.(bytes, from, endpoint));
  const slowSend = (buf: Uint8Array, toPort: number, address: string) =>
    socket.send(buf, toPort, address, (err) => {
      if (err) opts.onError(err, endpoint);
    });
  const direct = directIoer(fd, slowSend, (err) => opts.onError(err, endpoint));
  socket.on('message', (msg, rinfo) => {
    opts.onMessage(msg, rinfo, endpoint);
    // Whatever else is queued behind this datagram, in batches (fast-io.ts).
    batch?.drain();
  });
  socket.on('error', (err) => opts.onError(err, endpoint));
  const port = socket.address().port;
  return {
    endpoint,
    port,
    send: direct ?? slowSend,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
