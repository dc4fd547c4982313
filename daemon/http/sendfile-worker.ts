/**
 * The thread that sends boot file bodies with sendfile(2) (see sendfile.ts): the kernel moves the bytes
 * from the page cache to the socket, and neither this thread nor the main one copies them.
 *
 * Each transfer arrives as a duplicate of the connection's fd (owned here from then on), an open file
 * fd (owned here too), an offset and a length. Its socket is filled until it would block, then waited on
 * with epoll (EPOLLOUT, one-shot) with every other waiting transfer; an eventfd in the same epoll set
 * wakes the wait when the main thread posts a message, so the thread returns to its event loop to read
 * it. A transfer ends sent, failed (the peer went away: EPIPE, ECONNRESET), stalled (no progress for
 * stallMs) or cancelled; either way both fds are closed and the main thread told how many bytes went.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { EAGAIN, EINTR, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLL_DATA_OFFSET, EPOLL_EVENT_BYTES, EPOLLIN, EPOLLONESHOT, EPOLLOUT } from '../linux-abi.js';

export type ToWorker =
  | { op: 'start'; id: number; sock: number; file: number; offset: number; length: number }
  | { op: 'cancel'; id: number };
export interface FromWorker {
  id: number;
  sent: number;
  /** Absent when every byte was sent. */
  error?: string;
}
export interface SendfileWorkerData {
  /** The eventfd the main thread writes to after posting a message. */
  wake: number;
  stallMs: number;
}

/** Bytes per sendfile call: large enough to fill any socket buffer, small enough to stay fair between clients. */
const STEP = 4 << 20;
/** The epoll data of the wake-up eventfd (transfer ids start at 1). */
const WAKE_ID = 0;

interface Koffi {
  load(name: string): { func(sig: string): (...args: unknown[]) => number };
  errno(): number;
}

if (!parentPort) throw new Error('sendfile-worker.ts runs as a worker thread');
const port = parentPort;
const { wake, stallMs } = workerData as SendfileWorkerData;

const koffi = createRequire(import.meta.url)('koffi') as Koffi;
const lib = koffi.load('libc.so.6');
const sendfile = lib.func('long sendfile64(int, int, void *, size_t)');
const epollCreate1 = lib.func('int epoll_create1(int)');
const epollCtlRaw = lib.func('int epoll_ctl(int, int, int, void *)');
const epollWaitRaw = lib.func('int epoll_wait(int, void *, int, int)');
const read = lib.func('long read(int, void *, size_t)');
const close = lib.func('int close(int)');
const strerror = lib.func('const char *strerror(int)') as unknown as (e: number) => string;

const ep = epollCreate1(EPOLL_CLOEXEC);
if (ep < 0) throw new Error(`epoll_create1: ${strerror(koffi.errno())}`);
const ctlEvent = Buffer.alloc(EPOLL_EVENT_BYTES);
const events = Buffer.alloc(EPOLL_EVENT_BYTES * 64);
const wakeBuf = Buffer.alloc(8);

function epollCtl(op: number, fd: number, mask: number, id: number): number {
  ctlEvent.fill(0);
  ctlEvent.writeUInt32LE(mask, 0);
  ctlEvent.writeUInt32LE(id, EPOLL_DATA_OFFSET);
  return epollCtlRaw(ep, op, fd, ctlEvent);
}
if (epollCtl(EPOLL_CTL_ADD, wake, EPOLLIN, WAKE_ID) < 0) throw new Error(`epoll_ctl(eventfd): ${strerror(koffi.errno())}`);

interface Transfer {
  id: number;
  sock: number;
  file: number;
  /** The file offset sendfile reads from and advances (off_t). */
  offset: Buffer;
  left: number;
  sent: number;
  registered: boolean;
  lastProgress: number;
}

const transfers = new Map<number, Transfer>();
let ticking = false;

function end(t: Transfer, error?: string): void {
  transfers.delete(t.id);
  if (t.registered) epollCtl(EPOLL_CTL_DEL, t.sock, 0, t.id);
  close(t.sock);
  close(t.file);
  const msg: FromWorker = error === undefined ? { id: t.id, sent: t.sent } : { id: t.id, sent: t.sent, error };
  port.postMessage(msg);
}

/** Sends until done, until the socket would block (then waits for room), or until an error ends it. */
function pump(t: Transfer): void {
  while (t.left > 0) {
    const n = sendfile(t.sock, t.file, t.offset, Math.min(t.left, STEP));
    if (n > 0) {
      t.left -= n;
      t.sent += n;
      t.lastProgress = Date.now();
      continue;
    }
    if (n === 0) {
      end(t, 'the file ended early (shortened while being sent)');
      return;
    }
    const errno = koffi.errno();
    if (errno === EINTR) continue;
    if (errno !== EAGAIN) {
      end(t, strerror(errno));
      return;
    }
    const op = t.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epollCtl(op, t.sock, EPOLLOUT | EPOLLONESHOT, t.id) < 0) {
      end(t, `epoll_ctl: ${strerror(koffi.errno())}`);
      return;
    }
    t.registered = true;
    return;
  }
  end(t);
}

/** One wait for room on the waiting sockets (or a message), then back to the event loop for messages. */
function tick(): void {
  if (transfers.size === 0) {
    ticking = false;
    return;
  }
  const n = epollWaitRaw(ep, events, 64, 1000);
  for (let i = 0; i < n; i++) {
    const id = events.readUInt32LE(i * EPOLL_EVENT_BYTES + EPOLL_DATA_OFFSET);
    if (id === WAKE_ID) {
      read(wake, wakeBuf, 8);
      continue;
    }
    const t = transfers.get(id);
    if (t) pump(t);
  }
  const now = Date.now();
  for (const t of transfers.values()) {
    if (now - t.lastProgress > stallMs) end(t, `no progress for ${stallMs} ms`);
  }
  setImmediate(tick);
}

port.on('message', (m: ToWorker) => {
  if (m.op === 'cancel') {
    const t = transfers.get(m.id);
    if (t) end(t, 'cancelled');
    return;
  }
  const offset = Buffer.alloc(8);
  offset.writeBigInt64LE(BigInt(m.offset));
  const t: Transfer = { id: m.id, sock: m.sock, file: m.file, offset, left: m.length, sent: 0, registered: false, lastProgress: Date.now() };
  transfers.set(t.id, t);
  pump(t);
  if (!ticking && transfers.size > 0) {
    ticking = true;
    setImmediate(tick);
  }
});
