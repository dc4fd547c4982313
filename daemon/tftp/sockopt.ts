/**
 * UDP segmentation offload for DATA windows (Linux >= 4.18, UDP_SEGMENT): one sendmsg carries a whole
 * window of equal-sized DATA packets and the kernel cuts it into datagrams. A Node send costs a few
 * microseconds per call; measured here, per-packet sends reached about 150 MB/s and one GSO send per
 * 16-block window about 500 MB/s. Node has no API for it, so the option is set through libc (koffi) on
 * the fd of the transfer's connected socket. Everything here is optional: without koffi, without the
 * fd, or with a path MTU too small for a block, transfers simply send one packet per call.
 */
import { createRequire } from 'node:module';

/** <netinet/in.h>, <netinet/udp.h>, <linux/in.h> */
const IPPROTO_IP = 0;
const IP_MTU = 14;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
/** Linux UDP_MAX_SEGMENTS (64 up to 6.x kernels' conservative value). */
export const GSO_MAX_SEGMENTS = 64;
/** IPv4: 65535 minus the 20-byte IP and 8-byte UDP headers. */
export const GSO_MAX_BYTES = 65507;
/** IPv4 + UDP header bytes that must fit in the path MTU together with one segment. */
const IPV4_UDP_HEADERS = 28;

interface Libc {
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
}

let libc: Libc | null | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(name: string): { func(sig: string): (...args: unknown[]) => number };
    };
    const lib = koffi.load('libc.so.6');
    libc = {
      setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)') as Libc['setsockopt'],
      getsockopt: lib.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)') as Libc['getsockopt'],
    };
  } catch {
    libc = null;
  }
  return libc;
}

export { socketFd } from '../net/socket-fd.js';

/** Path MTU of a connected socket (IP_MTU), or null. */
export function pathMtu(fd: number): number | null {
  const c = load();
  if (c === null) return null;
  const out = Buffer.alloc(4);
  return c.getsockopt(fd, IPPROTO_IP, IP_MTU, out, [4]) === 0 ? out.readInt32LE(0) : null;
}

/** Sets (or with 0 clears) the socket's segment size. Returns whether the kernel accepted it. */
export function setSegmentSize(fd: number, size: number): boolean {
  const c = load();
  if (c === null) return false;
  const v = Buffer.alloc(4);
  v.writeInt32LE(size, 0);
  return c.setsockopt(fd, SOL_UDP, UDP_SEGMENT, v, 4) === 0;
}

/**
 * Turns segmentation on for DATA packets of `packetSize` bytes if the path takes them unfragmented
 * (the kernel refuses GSO segments above the MTU). Returns the segments per send, or 0 when off.
 */
export function enableDataSegmentation(fd: number, packetSize: number): number {
  const mtu = pathMtu(fd);
  if (mtu === null || packetSize + IPV4_UDP_HEADERS > mtu) return 0;
  if (!setSegmentSize(fd, packetSize)) return 0;
  return Math.max(1, Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / packetSize)));
}
