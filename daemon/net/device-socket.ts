/**
 * Sockets bound to one network device (SO_BINDTODEVICE) as well as to an address and port. A socket bound
 * only to an address still receives what the host routes to it from any interface: a request from
 * subnet 2 to subnet 1's address would reach the appliance of subnet 1. Bound to the device, it receives
 * only what arrived on that device, and two appliances on one host (one per device) can both hold the
 * same port. Node cannot set the option, so the socket is made through libc (koffi) and handed to Node
 * by file descriptor.
 */
import net from 'node:net';
import { AF_INET, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET, SO_BINDTODEVICE, SO_BROADCAST, SO_REUSEADDR, loadLibc, sockaddrIn } from './libc.js';

/** <bits/socket_type.h> */
const SOCK_STREAM = 1;

export interface DeviceBinding {
  /** Interface name, e.g. `eth1`. */
  device: string;
  /** Address to bind (`0.0.0.0` to receive the device's broadcasts too). */
  address: string;
  port: number;
}

/**
 * A bound (not listening) socket's fd. `udp`: SO_BROADCAST too (DHCP replies to 255.255.255.255).
 * Throws with the step that failed (`SO_BINDTODEVICE eth1: Operation not permitted`).
 */
export function deviceBoundFd(kind: 'udp' | 'tcp', b: DeviceBinding): number {
  const c = loadLibc();
  const fd = c.socket(AF_INET, (kind === 'udp' ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(): ${c.strerror(c.errno())}`);
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  const dev = Buffer.from(`${b.device}\0`);
  const addr = sockaddrIn(b.address, b.port);
  const steps: Array<[string, () => number]> = [
    ['SO_REUSEADDR', () => c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4)],
    ...(kind === 'udp' ? [['SO_BROADCAST', () => c.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, one, 4)] as [string, () => number]] : []),
    [`SO_BINDTODEVICE ${b.device}`, () => c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, dev.length)],
    [`bind ${b.address}:${b.port}`, () => (addr === null ? -1 : c.bind(fd, addr, 16))],
  ];
  for (const [what, step] of steps) {
    if (step() !== 0) {
      const err = addr === null ? `not an IPv4 address` : c.strerror(c.errno());
      c.close(fd);
      throw new Error(`${what}: ${err}`);
    }
  }
  return fd;
}

export interface DeviceListeners {
  /** The port every listener holds (the first one's when 0 was asked for). */
  readonly port: number;
  /** Stops accepting connections (those accepted stay with their HTTP server). */
  close(): Promise<void>;
}

function listenFd(server: net.Server, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Accepts TCP connections on each binding's device and address and hands every one to `onConnection`
 * (an HTTP server's `emit('connection', socket)`): one HTTP app served on several device-bound sockets.
 * Port 0 binds the first at a free port and the rest at that port.
 */
export async function listenOnDevices(bindings: DeviceBinding[], onConnection: (socket: net.Socket) => void): Promise<DeviceListeners> {
  const servers: net.Server[] = [];
  const closeAll = () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
  let port = bindings[0]?.port ?? 0;
  try {
    for (const b of bindings) {
      const fd = deviceBoundFd('tcp', { ...b, port });
      const server = net.createServer(onConnection);
      servers.push(server);
      try {
        await listenFd(server, fd);
      } catch (err) {
        loadLibc().close(fd);
        throw err;
      }
      port = (server.address() as net.AddressInfo).port;
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { port, close: closeAll };
}
