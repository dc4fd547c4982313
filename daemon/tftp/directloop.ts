/**
 * Direct receive for a worker thread's transfers: one epoll instance over their connected sockets' fds,
 * read with recv() calls from this thread (syncio.ts) in short slices, instead of one event-loop
 * callback per client packet.
 *
 * Why: a windowed client answers each window with one ACK, so with many clients a worker handles an ACK
 * every few tens of microseconds. Through node:dgram each one costs, besides the kernel's receive, a
 * 64 KiB receive buffer allocated and shrunk, a Buffer and an rinfo object with the address as a
 * string, a callback into JavaScript with its microtask checkpoint, and a second recvmsg that only says
 * the socket is empty. Here it costs one recv into a reused buffer, read while the previous answer's
 * thread is still running.
 *
 * The loop runs only while packets flow: it is kicked by a packet that came through the event loop (the
 * dgram sockets keep reading, so nothing is missed when the loop is idle), runs for at most SLICE_MS,
 * then gives the event loop a turn (the main thread's commands, timers, strangers, reads from disk) and
 * runs again; a wait that times out with nothing ready stops it until the next kick. What the event loop
 * delivers (a retransmission timer, a chunk read from disk, a new transfer) waits at most one slice,
 * well under the 5 ms timeout floor.
 */
import { EAGAIN, ECONNREFUSED, EINTR, type SyncIo } from './syncio.js';

/** Longest stretch the loop keeps its thread before an event-loop turn, ms. */
export const SLICE_MS = 2;
/** Receive buffer: an ACK is 4 bytes, an ERROR a few hundred; longer is garbage. */
const RECV_BYTES = 1500;
/** Ready fds taken per wait. */
const READY_MAX = 64;

export interface DirectHandler {
  /** A packet from the client (the socket is connected to it). */
  onPacket(msg: Buffer): void;
  /** recv failed with -errno (ECONNREFUSED: the client's port is gone). */
  onError(errno: number): void;
}

export class DirectLoop {
  private readonly handlers = new Map<number, DirectHandler>();
  /** The epoll instance, made for the first fd and closed with the last (-1 meanwhile). */
  private ep = -1;
  private readonly ready = new Int32Array(READY_MAX);
  private readonly buf = Buffer.alloc(RECV_BYTES);
  private scheduled = false;
  /** Transfers waiting for something only the event loop delivers (a chunk read from disk). */
  private waiting = 0;
  private running = false;
  private closed = false;
  /** Packets received by this loop (tests and diagnostics). */
  received = 0;

  constructor(
    private readonly io: SyncIo,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Watches `fd`; false when it cannot (the transfer then keeps the event-loop path). */
  add(fd: number, h: DirectHandler): boolean {
    if (this.closed || this.handlers.has(fd)) return false;
    if (this.ep < 0) {
      const ep = this.io.epollCreate();
      if (ep < 0) return false;
      this.ep = ep;
    }
    if (this.io.epollCtl(this.ep, 'add', fd) !== 0) {
      this.closeIfIdle();
      return false;
    }
    this.handlers.set(fd, h);
    return true;
  }

  /** Stops watching `fd` (before it is closed). */
  remove(fd: number): void {
    if (!this.handlers.delete(fd)) return;
    this.io.epollCtl(this.ep, 'del', fd);
    this.closeIfIdle();
  }

  private closeIfIdle(): void {
    if (this.handlers.size > 0 || this.ep < 0) return;
    this.io.closeFd(this.ep);
    this.ep = -1;
  }

  get size(): number {
    return this.handlers.size;
  }

  /**
   * A transfer waits for the event loop (its next packets are a chunk still being read): the loop stops
   * at once and stays off until every such wait has ended, since blocking in epoll would hold that read's
   * completion back, and its client sends nothing until the DATA comes (measured: a single stream at
   * half speed, stalled for the rest of a slice at every chunk).
   */
  hold(): void {
    this.waiting += 1;
  }

  /** The wait announced by hold() is over. */
  unhold(): void {
    this.waiting = Math.max(0, this.waiting - 1);
    if (this.waiting === 0) this.kick();
  }

  /** Packets are flowing (one came through the event loop): run the loop at the next turn. */
  kick(): void {
    if (this.scheduled || this.running || this.closed || this.waiting > 0 || this.handlers.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.closed || this.ep < 0 || this.waiting > 0) return;
    const end = this.clock() + SLICE_MS;
    let busy = false;
    this.running = true;
    try {
      for (;;) {
        const left = end - this.clock();
        if (left <= 0 || this.ep < 0 || this.waiting > 0) break;
        const n = this.io.epollWait(this.ep, this.ready, left);
        if (n === 0) break;
        if (n < 0) {
          if (n === -EINTR) continue;
          break;
        }
        busy = true;
        for (let i = 0; i < n; i++) this.receive(this.ready[i] as number);
      }
    } finally {
      this.running = false;
    }
    // Quiet for the rest of the slice: the event loop watches the sockets until the next packet.
    if (busy) this.kick();
  }

  /** One packet from a ready fd; epoll reports the fd again if more are queued. */
  private receive(fd: number): void {
    const h = this.handlers.get(fd);
    if (h === undefined) return;
    const n = this.io.recv(fd, this.buf);
    if (n >= 0) {
      this.received += 1;
      h.onPacket(this.buf.subarray(0, n));
      return;
    }
    if (n === -EAGAIN || n === -EINTR) return;
    this.remove(fd);
    if (n === -ECONNREFUSED) h.onError(n);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [...this.handlers.keys()]) this.remove(fd);
  }
}
