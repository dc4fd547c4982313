/**
 * Warms every TFTP worker thread before the appliance says it is ready: each serves a lock-step
 * transfer (as iPXE, PXELINUX and GRUB fetch) and a windowed one (as OVMF fetches) of a scratch file to
 * a client on 127.0.0.1 in the main thread.
 *
 * Why: a worker's transfer code starts as interpreted JavaScript and is compiled to machine code by V8
 * on background threads while it runs, and its cache slots are fresh memory the kernel must zero on
 * first touch. Without this, the first machine after a restart paid for all of it: under QEMU on two
 * CPUs its kernel download (8 MB, lock-step) took about 1.0 s against about 0.7 s for the next ones and
 * for dnsmasq, with 0.15 s of CPU spent compiling on background threads during the download.
 *
 * The transfers are the real ones (same sockets, session, cache and fast paths), marked `quiet`: left
 * out of metrics, logs and progress. Bounded in time; a warm-up that fails or times out is only logged
 * by the caller, and the appliance starts all the same.
 */
import dgram from 'node:dgram';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTftp, encodeTftp } from '../protocol/tftp/codec.js';
import type { TransferParams } from './negotiate.js';
import type { TransferPool } from './pool.js';
import type { TransferEnd, TransferJob } from './transfer.js';

/** The scratch file's size: enough blocks for V8 to optimize the per-block path (about 5,900 at 1432). */
export const WARM_UP_BYTES = 8 * 1024 * 1024;
/** The whole warm-up's limit, ms. */
export const WARM_UP_TIMEOUT_MS = 5000;

/** The two ways boot firmware fetches: iPXE's lock-step blksize, and OVMF's window. */
const SHAPES: Array<Pick<TransferParams, 'blksize' | 'windowSize'>> = [
  { blksize: 1432, windowSize: 1 },
  { blksize: 1468, windowSize: 4 },
];

export interface WarmUpHost {
  pool: TransferPool;
  /** A transfer id no request will use. */
  nextId(): number;
  /** Resolves with the end of warm-up transfer `id` (the pool's 'warmed' report). */
  ended(id: number): Promise<TransferEnd>;
  /** The rest of a job as the server would make it (retries, timeouts, fast paths). */
  job: Pick<TransferJob, 'retries' | 'minRtoMs' | 'segmentation' | 'lockstepSpinUs' | 'directIo'>;
}

export interface WarmUpResult {
  transfers: number;
  ok: number;
  ms: number;
}

/** A scratch file for the transfers' cache path (an fd the workers read), removed from the disk at once. */
function scratchFile(bytes: number): { fd: number; close(): void } | null {
  let dir: string | null = null;
  try {
    dir = mkdtempSync(join(tmpdir(), 'bootgate-warm-'));
    const path = join(dir, 'warm.bin');
    const fd = openSync(path, 'w+', 0o600);
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    for (let at = 0; at < bytes; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at), at);
    rmSync(dir, { recursive: true, force: true });
    return { fd, close: () => closeSync(fd) };
  } catch {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

/** The main thread's side: ACKs every block (lock-step) or every window's last block, as a firmware does. */
function receive(sock: dgram.Socket, params: TransferParams, size: number): Promise<void> {
  const lastBlock = Math.floor(size / params.blksize) + 1;
  let expected = 1;
  return new Promise((resolve) => {
    sock.on('message', (msg, from) => {
      let pkt;
      try {
        pkt = decodeTftp(msg);
      } catch {
        return;
      }
      const ack = (block: number) => sock.send(encodeTftp({ op: 'ack', block }), from.port, from.address);
      if (pkt.op === 'oack') ack(0);
      if (pkt.op === 'error') resolve();
      if (pkt.op !== 'data') return;
      if (pkt.block === (expected & 0xffff)) expected += 1;
      const got = expected - 1;
      if (got === lastBlock || got % params.windowSize === 0 || pkt.block !== (got & 0xffff)) ack(got & 0xffff);
      if (got === lastBlock) resolve();
    });
  });
}

/**
 * One warm-up transfer on `lane`: whether it ended well before the deadline, and when it has ended at
 * all (after a timeout it is aborted; the scratch file stays open until its worker has let go).
 */
async function one(host: WarmUpHost, lane: number, shape: (typeof SHAPES)[number], source: TransferJob['source'], size: number, deadline: number): Promise<{ ok: boolean; ended: Promise<unknown> }> {
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => resolve());
    });
    const port = sock.address().port;
    const params: TransferParams = {
      blksize: shape.blksize, windowSize: shape.windowSize, windowMax: shape.windowSize, msftWindow: false, timeoutMs: 1000,
      oack: { blksize: String(shape.blksize), tsize: String(size), ...(shape.windowSize > 1 ? { windowsize: String(shape.windowSize) } : {}) },
    };
    const id = host.nextId();
    const received = receive(sock, params, size);
    const ended = host.ended(id);
    host.pool.startOn(lane, { ...host.job, id, client: { address: '127.0.0.1', port }, local: '127.0.0.1', params, size, source, quiet: true });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
    });
    try {
      const first = await Promise.race([received.then(() => ended), late]);
      if (first !== 'late') return { ok: first.result === 'ok', ended };
      host.pool.abort(id, 'warm-up took too long');
      return { ok: false, ended };
    } finally {
      clearTimeout(timer);
    }
  } catch {
    return { ok: false, ended: Promise.resolve() };
  } finally {
    sock.close();
  }
}

/** Runs the warm-up on every worker at once; each worker's transfers one after the other. */
export async function warmUpWorkers(host: WarmUpHost, bytes = WARM_UP_BYTES, timeoutMs = WARM_UP_TIMEOUT_MS): Promise<WarmUpResult> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  const file = scratchFile(bytes);
  const source: TransferJob['source'] = file === null
    ? { kind: 'bytes', data: new Uint8Array(bytes) }
    : { kind: 'fd', fd: file.fd, key: `warm-up:${process.pid}:${t0}` };
  let ok = 0;
  let transfers = 0;
  const ends: Array<Promise<unknown>> = [];
  await Promise.all(Array.from({ length: host.pool.lanes }, async (_, lane) => {
    for (const shape of SHAPES) {
      transfers += 1;
      const r = await one(host, lane, shape, source, bytes, deadline);
      ends.push(r.ended);
      if (r.ok) ok += 1;
    }
  }));
  if (file !== null) {
    // Close the scratch file once no worker reads it; an aborted transfer that never reports keeps it open.
    let grace: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all(ends).then(() => true),
      new Promise<boolean>((resolve) => {
        grace = setTimeout(() => resolve(false), 1000);
      }),
    ]);
    clearTimeout(grace);
    if (settled) file.close();
  }
  return { transfers, ok, ms: Date.now() - t0 };
}
