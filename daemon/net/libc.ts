/**
 * The few libc calls Node's dgram does not offer (SO_BINDTODEVICE, SO_RCVBUFFORCE, batched and direct
 * datagram I/O), through koffi. Linux only; loading throws where libc.so.6 or koffi is missing, and every
 * caller has a dgram path to fall back on except the device binding itself.
 */
import koffi from 'koffi';
import { parseIpv4 } from '../protocol/dhcp/ipv4.js';
import { EAGAIN, SOL_SOCKET } from '../linux-abi.js';

export { EAGAIN, SOL_SOCKET };

// Linux ABI constants (asm-generic/socket.h, bits/socket.h, asm-generic/errno.h).
export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const SO_REUSEADDR = 2;
export const SO_BROADCAST = 6;
export const SO_BINDTODEVICE = 25;
export const SO_RCVBUFFORCE = 33;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const ENOBUFS = 105;

export interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  close: (fd: number) => number;
  strerror: (errnum: number) => string;
  sendto: (fd: number, buf: Uint8Array, len: number, flags: number, addr: Buffer, addrLen: number) => number;
  recvmmsg: (fd: number, msgvec: Buffer, vlen: number, flags: number, timeout: null) => number;
  errno: () => number;
  /** The native address of a Buffer's bytes (stable: a Buffer's memory never moves). */
  address: (buf: Buffer) => bigint;
}

let libc: Libc | null = null;

export function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    close: lib.func('int close(int)'),
    strerror: lib.func('const char *strerror(int)'),
    sendto: lib.func('long sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recvmmsg: lib.func('int recvmmsg(int, void *, unsigned int, int, void *)'),
    errno: () => koffi.errno(),
    address: (buf) => BigInt(koffi.address(buf) as unknown as number | bigint),
  };
  return libc;
}

/** struct sockaddr_in for a dotted quad and port, or null when the address is not one. */
export function sockaddrIn(address: string, port: number): Buffer | null {
  const ip = parseIpv4(address);
  if (ip === null) return null;
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  sa.writeUInt32BE(ip, 4);
  return sa;
}
