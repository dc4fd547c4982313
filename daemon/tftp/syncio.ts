/**
 * Blocking-style socket calls for the lock-step fast path (transfer.ts): recv, send and poll on the fd of
 * a transfer's connected socket, called synchronously through libc (koffi), so a worker thread can
 * answer an ACK with the next DATA without an event-loop turn.
 *
 * Why: a lock-step client (GRUB, PXELINUX, iPXE, U-Boot, shim) waits for each block before it ACKs the
 * next, so the server's time from ACK to DATA is paid once per block. Through the event loop that time
 * is an epoll wakeup, libuv's receive, a Buffer and an rinfo per packet, a callback into JavaScript, and
 * a send request; measured on a veth pair it made Node about 14 µs per block slower than atftpd and
 * tftpd-hpa. Here an ACK costs one recv, the session step, and one send; while waiting, the caller spins
 * on non-blocking recv for a few tens of microseconds (a round trip on a LAN), which saves the sleep and
 * wakeup a blocking server pays per block, then blocks in poll.
 *
 * The fd stays owned by its dgram socket (libuv keeps it non-blocking, which these calls rely on); the
 * caller only uses it while its thread does nothing else. Without koffi everything here is null and
 * transfers keep the event-loop path.
 */
import { createRequire } from 'node:module';
import { EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_DATA_OFFSET, EPOLL_EVENT_BYTES, EPOLLIN, F_GETFL, F_SETFL, O_NONBLOCK, SO_RCVTIMEO, SOL_SOCKET, TIMEVAL_BYTES } from '../linux-abi.js';

export { EAGAIN, ECONNREFUSED, EINTR } from '../linux-abi.js';

/** <sys/socket.h>, <poll.h> (Linux) */
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const POLLIN = 0x1;

export interface SyncIo {
  /** Bytes received into `buf`, or -errno (-EAGAIN when nothing is queued). Never blocks. */
  recv(fd: number, buf: Buffer): number;
  /** Bytes sent, or -errno. Never blocks (-EAGAIN when the send buffer is full). */
  send(fd: number, packet: Buffer): number;
  /** Waits up to `ms` for the fd to become readable: > 0 readable, 0 timed out, -errno. */
  wait(fd: number, ms: number): number;
  /**
   * Makes the fd blocking, with reads that give up after `ms` (SO_RCVTIMEO), for recvWait: 0 or -errno
   * (the fd is left as it was). Undo with unhold() before the event loop sees the fd again.
   */
  hold(fd: number, ms: number): number;
  /** Makes the fd non-blocking again: 0 or -errno. */
  unhold(fd: number): number;
  /** On a held fd: bytes received, waiting up to the hold's time for a packet; -EAGAIN when none came. */
  recvWait(fd: number, buf: Buffer): number;
  /** A new epoll instance's fd, or -errno. */
  epollCreate(): number;
  /** Closes an fd this module made (an epoll instance): 0 or -errno. */
  closeFd(fd: number): number;
  /** Adds `fd` (readable events, reported with the fd itself) to, or removes it from, an epoll instance: 0 or -errno. */
  epollCtl(ep: number, op: 'add' | 'del', fd: number): number;
  /**
   * Waits up to `ms` for readable fds of an epoll instance; writes their fds to `ready` (one Int32 each,
   * at most ready.length) and returns how many, 0 on timeout, or -errno.
   */
  epollWait(ep: number, ready: Int32Array, ms: number): number;
}

interface Koffi {
  load(name: string): { func(sig: string): (...args: unknown[]) => number };
  errno(): number;
}

let io: SyncIo | null | undefined;

export function loadSyncIo(): SyncIo | null {
  if (io !== undefined) return io;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as Koffi;
    const lib = koffi.load('libc.so.6');
    const recv = lib.func('long recv(int, void *, size_t, int)');
    const send = lib.func('long send(int, const void *, size_t, int)');
    const poll = lib.func('int poll(void *, unsigned long, int)');
    const pfd = Buffer.alloc(8);
    const fcntl = lib.func('int fcntl(int, int, int)');
    const setsockopt = lib.func('int setsockopt(int, int, int, void *, unsigned int)');
    const timeval = Buffer.alloc(TIMEVAL_BYTES);
    const epollCreate1 = lib.func('int epoll_create1(int)');
    const closeFd = lib.func('int close(int)');
    const epollCtl = lib.func('int epoll_ctl(int, int, int, void *)');
    const epollWait = lib.func('int epoll_wait(int, void *, int, int)');
    const ctlEvent = Buffer.alloc(EPOLL_EVENT_BYTES);
    let events = Buffer.alloc(EPOLL_EVENT_BYTES * 64);
    io = {
      recv: (fd, buf) => {
        const n = recv(fd, buf, buf.length, MSG_DONTWAIT);
        return n >= 0 ? n : -koffi.errno();
      },
      send: (fd, packet) => {
        const n = send(fd, packet, packet.length, MSG_DONTWAIT | MSG_NOSIGNAL);
        return n >= 0 ? n : -koffi.errno();
      },
      wait: (fd, ms) => {
        pfd.writeInt32LE(fd, 0);
        pfd.writeInt16LE(POLLIN, 4);
        pfd.writeInt16LE(0, 6);
        const n = poll(pfd, 1, Math.max(0, Math.ceil(ms)));
        return n >= 0 ? n : -koffi.errno();
      },
      hold: (fd, ms) => {
        const flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0) return -koffi.errno();
        const us = Math.max(1000, Math.round(ms * 1000));
        timeval.writeBigInt64LE(BigInt(Math.floor(us / 1e6)), 0);
        timeval.writeBigInt64LE(BigInt(us % 1e6), 8);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, TIMEVAL_BYTES) < 0) return -koffi.errno();
        if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return -koffi.errno();
        return 0;
      },
      unhold: (fd) => {
        const flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0) return -koffi.errno();
        return fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -koffi.errno() : 0;
      },
      recvWait: (fd, buf) => {
        const n = recv(fd, buf, buf.length, 0);
        return n >= 0 ? n : -koffi.errno();
      },
      epollCreate: () => {
        const n = epollCreate1(EPOLL_CLOEXEC);
        return n >= 0 ? n : -koffi.errno();
      },
      closeFd: (fd) => {
        const n = closeFd(fd);
        return n >= 0 ? n : -koffi.errno();
      },
      epollCtl: (ep, op, fd) => {
        ctlEvent.fill(0);
        ctlEvent.writeUInt32LE(EPOLLIN, 0);
        ctlEvent.writeInt32LE(fd, EPOLL_DATA_OFFSET);
        const n = epollCtl(ep, op === 'add' ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, ctlEvent);
        return n >= 0 ? n : -koffi.errno();
      },
      epollWait: (ep, ready, ms) => {
        if (events.length < ready.length * EPOLL_EVENT_BYTES) events = Buffer.alloc(ready.length * EPOLL_EVENT_BYTES);
        const n = epollWait(ep, events, ready.length, Math.max(0, Math.ceil(ms)));
        if (n < 0) return -koffi.errno();
        for (let i = 0; i < n; i++) ready[i] = events.readInt32LE(i * EPOLL_EVENT_BYTES + EPOLL_DATA_OFFSET);
        return n;
      },
    };
  } catch {
    io = null;
  }
  return io;
}
