/**
 * Zero-copy bodies for boot files over plain HTTP: the headers are written by Node, then the body goes
 * from the page cache to the socket by sendfile(2) on a thread of its own (sendfile-worker.ts), on a
 * duplicate of the connection's fd. Node then ends the response without a body byte of its own, and the
 * connection stays open for the next request (keep-alive).
 *
 * Why: a boot storm is hundreds of clients each fetching tens of MB. Written through Node, every byte
 * is copied from a Buffer into the socket on the main thread, which also answers every other request;
 * measured in bench/boot-storm.ts that made Bootgate's HTTP door use several times nginx's CPU (nginx
 * sends with sendfile) and left iPXE's script requests queued behind the copies.
 *
 * Optional (`http.sendfile`), Linux only, plain TCP only (TLS sockets are not offered to it): without
 * koffi or libc, or when the thread fails, `startSendfile` returns null or `send` refuses, and the caller
 * writes the body the ordinary way.
 */
import { open, close } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { FromWorker, SendfileWorkerData, ToWorker } from './sendfile-worker.js';

/** <fcntl.h>, <sys/eventfd.h> (Linux) */
const F_DUPFD_CLOEXEC = 1030;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

export interface FileSender {
  /**
   * Sends `length` bytes of the file at `path` from `offset` on `socket`. Once the file is open and the
   * socket checked, `beforeBody` writes the response's headers and resolves when Node has handed them to
   * the kernel; the body follows them. Resolves with the bytes sent (fewer than `length` when the peer
   * went away, `error` saying why); rejects before `beforeBody` runs when this path cannot take the
   * transfer (the caller then writes the body itself), or with beforeBody's own error.
   * `abort` ends the transfer early (the response closed).
   */
  send(socket: Socket, path: string, offset: number, length: number, abort: AbortSignal, beforeBody: () => Promise<void>): Promise<{ sent: number; error?: string }>;
  /** Transfers under way (for tests and metrics). */
  active(): number;
  close(): Promise<void>;
}

interface Koffi {
  load(name: string): { func(sig: string): (...args: unknown[]) => number };
}

interface Native {
  dup: (fd: number) => number;
  close: (fd: number) => number;
  eventfd: (initval: number, flags: number) => number;
  write: (fd: number, buf: Buffer, len: number) => number;
}

function loadNative(): Native | null {
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const lib = koffi.load('libc.so.6');
    const fcntl = lib.func('int fcntl(int, int, int)');
    return {
      dup: (fd) => fcntl(fd, F_DUPFD_CLOEXEC, 0),
      close: lib.func('int close(int)'),
      eventfd: lib.func('int eventfd(unsigned int, int)'),
      write: lib.func('long write(int, const void *, size_t)'),
    };
  } catch {
    return null;
  }
}

/** The fd of a plain TCP socket (libuv's), or null (TLS, a closed socket, another kind of handle). */
export function socketFd(socket: Socket): number | null {
  if ((socket as { encrypted?: boolean }).encrypted) return null;
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

function openFd(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

/**
 * The sender, or null where it cannot work (no koffi, not Linux). `stallMs`: a transfer with no progress
 * for that long ends (a client that stopped reading).
 */
export function startSendfile(opts: { stallMs?: number } = {}): FileSender | null {
  if (process.platform !== 'linux') return null;
  const native = loadNative();
  if (!native) return null;
  const wake = native.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) return null;
  const data: SendfileWorkerData = { wake, stallMs: opts.stallMs ?? 120_000 };
  let worker: Worker;
  try {
    worker = new Worker(new URL('./sendfile-worker.js', import.meta.url), { workerData: data });
  } catch {
    native.close(wake);
    return null;
  }
  worker.unref();
  let broken: string | null = null;
  let nextId = 1;
  const pending = new Map<number, (r: { sent: number; error?: string }) => void>();
  const one = Buffer.alloc(8);
  one.writeBigUInt64LE(1n);
  // Set once the thread is gone and the eventfd closed: a late cancel (a response closing after shutdown)
  // must not write to an fd number that may since belong to something else.
  let terminated = false;
  const post = (m: ToWorker): void => {
    if (terminated) return;
    worker.postMessage(m);
    native.write(wake, one, 8);
  };
  worker.on('message', (m: FromWorker) => {
    const done = pending.get(m.id);
    pending.delete(m.id);
    done?.(m.error === undefined ? { sent: m.sent } : { sent: m.sent, error: m.error });
  });
  const fail = (why: string): void => {
    broken ??= why;
    for (const [id, done] of pending) {
      pending.delete(id);
      done({ sent: 0, error: `sendfile thread: ${why}` });
    }
  };
  worker.on('error', (err) => fail(err.message));
  worker.on('exit', (code) => fail(`exited (${code})`));
  let closed = false;

  return {
    async send(socket, path, offset, length, abort, beforeBody) {
      if (broken !== null) throw new Error(`sendfile unavailable: ${broken}`);
      const fd = socketFd(socket);
      if (fd === null) throw new Error('not a plain TCP socket');
      const file = await openFd(path);
      // The socket may have closed while the file opened: its fd number could now be another file's.
      const still = socketFd(socket);
      if (still !== fd || socket.destroyed || abort.aborted) {
        close(file, () => undefined);
        if (still === null || socket.destroyed || abort.aborted) return { sent: 0, error: 'the connection closed' };
        throw new Error('the socket changed');
      }
      try {
        await beforeBody();
      } catch (err) {
        close(file, () => undefined);
        throw err;
      }
      if (socketFd(socket) !== fd || abort.aborted) {
        close(file, () => undefined);
        return { sent: 0, error: 'the connection closed' };
      }
      const sock = native.dup(fd);
      if (sock < 0) {
        close(file, () => undefined);
        return { sent: 0, error: 'dup of the socket failed' };
      }
      const id = nextId++;
      return new Promise((resolve) => {
        const onAbort = (): void => post({ op: 'cancel', id });
        pending.set(id, (r) => {
          abort.removeEventListener('abort', onAbort);
          resolve(r);
        });
        abort.addEventListener('abort', onAbort, { once: true });
        post({ op: 'start', id, sock, file, offset, length });
      });
    },
    active: () => pending.size,
    async close() {
      if (closed) return;
      closed = true;
      // Transfers under way end first (the thread closes their fds), within a bound.
      if (broken === null && pending.size > 0) {
        const drained = new Promise<void>((r) => {
          const check = (): void => { if (pending.size === 0) { worker.off('message', check); r(); } };
          worker.on('message', check);
        });
        for (const id of pending.keys()) post({ op: 'cancel', id });
        await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
      }
      broken ??= 'closed';
      await worker.terminate();
      terminated = true;
      native.close(wake);
    },
  };
}
