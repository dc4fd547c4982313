/**
 * The TFTP server: the request socket (UDP 69), admission (limits, policy hook, root confinement,
 * option negotiation) in the main thread, and the transfers in worker threads (pool.ts).
 *
 * Read-only by design: a WRQ gets error 2. A request beyond the total session limit is dropped silently
 * and counted: a PXE ROM that gets silence retries its RRQ a few seconds later, when a slot may be free.
 * A request beyond the per-address limit gets error 0 at once and is counted: the address already has
 * transfers running (machines behind NAT, a lab bench), and a client told at once can retry or report
 * instead of waiting out its timeout. Those errors are capped per second, so spoofed requests cannot
 * turn the server into a reflector.
 */
import dgram from 'node:dgram';
import { open as openCb, fstat as fstatCb, close as closeCb, readFile } from 'node:fs';
import { promisify } from 'node:util';
import { rateLimited } from '../log.js';
import { DecodeError } from '../protocol/errors.js';
import { decodeTftp, encodeTftp, TFTP_ERROR, type TftpRequest } from '../protocol/tftp/codec.js';
import { toNetascii } from '../protocol/tftp/netascii.js';
import { identityKey } from '../files/cache.js';
import { resolveInRoot, type Resolved } from '../files/root.js';
import { negotiate } from './negotiate.js';
import { createPool, type TransferPool } from './pool.js';
import { warmUpWorkers, type WarmUpHost, type WarmUpResult } from './warmup.js';
import type { HostReport } from './host.js';
import type { TransferEnd, TransferJob } from './transfer.js';
import type { TftpAnswer, TftpRequestInfo, TftpServer, TftpServerOptions, TftpSessionInfo } from './types.js';

export type { TftpAnswer, TftpCompletion, TftpDevices, TftpRequestInfo, TftpServer, TftpServerOptions, TftpSessionInfo } from './types.js';

const openFd = promisify(openCb);
const fstatFd = promisify(fstatCb);

/**
 * Floor of the adaptive retransmission timeout. LAN round trips are well under a millisecond, so the
 * floor is what a lost window (or the first block of one, which no gap ACK reports) costs. Measured on
 * a veth pair at 5% loss with atftp, 24 MiB: 10 ms -> 2.6 s, 5 ms -> 1.4 s, 2 ms -> 1.2 s. Node timers
 * have 1 ms granularity and a busy event loop adds some: 5 ms keeps spurious resends rare.
 */
export const MIN_RTO_MS = 5;
/**
 * Longest spin before blocking in the lock-step loop, µs. The loop spins for about twice the client's
 * usual answer time while that is under this limit (a LAN round trip plus a client's turnaround, tens
 * of µs), so the next ACK is caught without a sleep and a wakeup; when clients answer slower (a loaded
 * host, a slow firmware) it does not spin at all.
 */
export const LOCKSTEP_SPIN_US = 100;
/** netascii is converted in memory: only for files up to this size (configs and scripts, not images). */
export const NETASCII_MAX_BYTES = 1024 * 1024;
/** At most this many per-address limit errors leave per second; beyond it the refusal is silent (still counted). */
export const LIMIT_ERRORS_PER_SECOND = 200;

interface Slot {
  id: number;
  key: string;
  ip: string;
  client: { address: string; port: number };
  path: string;
  size: number;
  bytesSent: number;
  startedAt: number;
  running: boolean;
  /** The served file's fd, closed here once the transfer has ended (workers only read it). */
  fd: number | null;
  /** The request socket the request arrived on: errors leave by it, the transfer binds its address. */
  via: RequestSocket;
}

interface RequestSocket {
  sock: dgram.Socket;
  local: string;
}

type Source = { size: number; path: string; source: TransferJob['source'] };
type Refusal = { code: number; message: string; reason: string; detail: string };

function refusalFor(r: Extract<Resolved, { ok: false }>): Refusal {
  switch (r.reason) {
    case 'traversal':
      return { code: TFTP_ERROR.ACCESS_VIOLATION, message: 'access violation', reason: 'access', detail: 'traversal' };
    case 'access':
      return { code: TFTP_ERROR.ACCESS_VIOLATION, message: 'access violation', reason: 'access', detail: 'access' };
    case 'not-file':
    case 'not-found':
      return { code: TFTP_ERROR.FILE_NOT_FOUND, message: 'file not found', reason: 'not-found', detail: r.reason };
  }
}

class Server implements TftpServer {
  port = 0;
  private readonly socks: RequestSocket[] = [];
  private readonly slots = new Map<number, Slot>();
  private readonly byKey = new Map<string, number>();
  private readonly perIp = new Map<string, number>();
  private readonly pool: TransferPool;
  private nextId = 1;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  private readonly warmEnds = new Map<number, (end: TransferEnd) => void>();
  private readonly logLimited = rateLimited(10_000, 20);
  private limitErrorWindow = 0;
  private limitErrors = 0;

  constructor(private readonly opts: TftpServerOptions) {
    this.pool = createPool({
      workers: opts.config.workers,
      cacheBytes: opts.config.cacheBytes,
      claims: new SharedArrayBuffer(65536 / 8),
      onReport: (r) => this.onReport(r),
      onLost: (ids, why) => {
        for (const id of ids) this.ended({ id, result: 'error', bytes: 0, retransmits: 0, seconds: 0, detail: why });
      },
    });
  }

  async listen(): Promise<void> {
    const devices = this.opts.devices;
    if (!devices) {
      await this.openRequestSocket(this.opts.address, (sock, done) => sock.bind(this.opts.port, this.opts.address, done));
      return;
    }
    // Port 0 (tests): the first socket picks a free port, the others take the same one.
    let port = this.opts.port;
    for (const ep of devices.endpoints) {
      const fd = devices.boundFd(ep.device, ep.address, port);
      await this.openRequestSocket(ep.address, (sock, done) => sock.bind({ fd }, done));
      port = this.port;
    }
  }

  private async openRequestSocket(local: string, bind: (sock: dgram.Socket, done: () => void) => void): Promise<void> {
    const sock = dgram.createSocket('udp4');
    const via: RequestSocket = { sock, local };
    this.socks.push(via);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      bind(sock, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    this.port = sock.address().port;
    sock.on('error', (err) => this.opts.logger.error({ err, local }, 'tftp request socket error'));
    sock.on('message', (msg, rinfo) => this.onRequestPacket(msg, { address: rinfo.address, port: rinfo.port }, via));
  }

  sessions(): TftpSessionInfo[] {
    return [...this.slots.values()]
      .filter((s) => s.running)
      .map((s) => ({ client: s.key, path: s.path, bytesSent: s.bytesSent, size: s.size, startedAt: s.startedAt }));
  }

  private refuseMetric(reason: string): void {
    this.opts.metrics.tftpRefused.inc({ reason });
  }

  private sendError(via: RequestSocket, to: { address: string; port: number }, code: number, message: string): void {
    if (this.closing) return;
    via.sock.send(encodeTftp({ op: 'error', code, message }), to.port, to.address);
  }

  private logRefusal(client: string, file: string, reason: string, detail: string): void {
    this.logLimited((suppressed) =>
      this.opts.logger.info({ client, file: file.slice(0, 200), decision: 'refuse', reason, detail, suppressed }, 'tftp request refused'),
    );
  }

  private onRequestPacket(msg: Buffer, from: { address: string; port: number }, via: RequestSocket): void {
    if (this.closing) return;
    let pkt;
    try {
      pkt = decodeTftp(msg);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.refuseMetric('malformed');
      this.logLimited((suppressed) =>
        this.opts.logger.warn({ client: `${from.address}:${from.port}`, code: err.code, bytes: msg.subarray(0, 600).toString('base64'), suppressed }, 'undecodable tftp request'),
      );
      return;
    }
    if (pkt.op === 'wrq') {
      this.refuseMetric('write');
      this.logRefusal(`${from.address}:${from.port}`, this.shown(pkt.filename, from.address), 'write', 'read-only server');
      this.sendError(via, from, TFTP_ERROR.ACCESS_VIOLATION, 'read-only server: uploads are refused');
      return;
    }
    // ACK/DATA/ERROR on the request port belong to no transfer (RFC 1350 section 4): ignore them.
    if (pkt.op !== 'rrq') return;
    this.admit(pkt, from, via);
  }

  /** Reserves a slot or drops the request; the same client port asking again is a retransmitted RRQ. */
  private admit(req: TftpRequest, from: { address: string; port: number }, via: RequestSocket): void {
    const key = `${from.address}:${from.port}`;
    if (this.byKey.has(key)) return;
    const cfg = this.opts.config;
    const ipCount = this.perIp.get(from.address) ?? 0;
    if (this.slots.size >= cfg.sessionsMax || ipCount >= cfg.sessionsPerClientMax) {
      const reason = this.slots.size >= cfg.sessionsMax ? 'limit-total' : 'limit-client';
      this.refuseMetric(reason);
      this.logRefusal(key, this.shown(req.filename, from.address), reason, 'session limit');
      if (reason === 'limit-client' && this.limitErrorAllowed()) {
        this.sendError(via, from, TFTP_ERROR.NOT_DEFINED, `too many transfers from this address (limit ${cfg.sessionsPerClientMax}): retry later`);
      }
      return;
    }
    const slot: Slot = {
      id: this.nextId++, key, ip: from.address, client: from, path: this.shown(req.filename, from.address), size: 0, bytesSent: 0, startedAt: Date.now(), running: false, fd: null, via,
    };
    this.slots.set(slot.id, slot);
    this.byKey.set(key, slot.id);
    this.perIp.set(from.address, ipCount + 1);
    this.prepare(req, slot).catch((err: unknown) => {
      this.opts.logger.error({ client: key, file: slot.path, err }, 'tftp request failed');
      this.refuse(slot, { code: TFTP_ERROR.NOT_DEFINED, message: 'server error', reason: 'error', detail: String(err) });
    });
  }

  private shown(path: string, clientIp: string): string {
    return this.opts.redact ? this.opts.redact(path, clientIp) : path;
  }

  private limitErrorAllowed(): boolean {
    const now = Date.now();
    if (now - this.limitErrorWindow >= 1000) {
      this.limitErrorWindow = now;
      this.limitErrors = 0;
    }
    return this.limitErrors++ < LIMIT_ERRORS_PER_SECOND;
  }

  private release(slot: Slot): void {
    if (!this.slots.delete(slot.id)) return;
    if (slot.fd !== null) closeCb(slot.fd, () => undefined);
    this.byKey.delete(slot.key);
    const n = (this.perIp.get(slot.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(slot.ip);
    else this.perIp.set(slot.ip, n);
    if (this.slots.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private refuse(slot: Slot, r: Refusal): void {
    this.refuseMetric(r.reason);
    this.logRefusal(slot.key, slot.path, r.reason, r.detail);
    this.sendError(slot.via, slot.client, r.code, r.message);
    this.release(slot);
  }

  private async prepare(req: TftpRequest, slot: Slot): Promise<void> {
    if (req.mode !== 'octet' && req.mode !== 'netascii') {
      this.refuse(slot, { code: TFTP_ERROR.ILLEGAL_OPERATION, message: `mode "${req.mode.slice(0, 20)}" not supported`, reason: 'malformed', detail: 'mode' });
      return;
    }
    const info: TftpRequestInfo = { path: req.filename, client: { ...slot.client }, options: { ...req.options } };
    const answer: TftpAnswer = this.opts.onRequest ? await this.opts.onRequest(info) : { kind: 'file', path: req.filename };
    if (answer.kind === 'refuse') {
      this.refuse(slot, { code: answer.code, message: answer.message, reason: answer.reason, detail: 'policy' });
      return;
    }
    const src = answer.kind === 'content' ? this.contentSource(answer.data, slot.path) : await this.fileSource(answer.path, req.mode, slot);
    if (src === null) return;
    const netascii = req.mode === 'netascii' && src.source.kind === 'bytes';
    const final = netascii ? this.contentSource(toNetascii((src.source as { data: Uint8Array }).data), src.path) : src;
    this.launch(req, slot, final);
  }

  private contentSource(data: Uint8Array, path: string): Source {
    return { size: data.length, path, source: { kind: 'bytes', data } };
  }

  private async fileSource(path: string, mode: string, slot: Slot): Promise<Source | null> {
    const resolved = await resolveInRoot(this.opts.root, path);
    if (!resolved.ok) {
      this.refuse(slot, refusalFor(resolved));
      return null;
    }
    let fd: number;
    try {
      fd = await openFd(resolved.abs, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.refuse(slot, refusalFor({ ok: false, reason: code === 'EACCES' || code === 'EPERM' ? 'access' : 'not-found' }));
      return null;
    }
    const st = await fstatFd(fd);
    if (mode === 'netascii') {
      // Converted in memory, so bounded: large images must be fetched in octet mode.
      if (st.size > NETASCII_MAX_BYTES) {
        closeCb(fd, () => undefined);
        this.refuse(slot, { code: TFTP_ERROR.ILLEGAL_OPERATION, message: 'netascii only for small files: use octet mode', reason: 'malformed', detail: 'netascii-size' });
        return null;
      }
      const data = await promisify(readFile)(fd);
      closeCb(fd, () => undefined);
      return this.contentSource(data, resolved.rel);
    }
    const key = identityKey({ dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
    return { size: st.size, path: resolved.rel, source: { kind: 'fd', fd, key } };
  }

  private launch(req: TftpRequest, slot: Slot, src: Source): void {
    const cfg = this.opts.config;
    const neg = negotiate(req.options, src.size, cfg);
    if (!neg.ok || this.closing) {
      if (src.source.kind === 'fd') closeCb(src.source.fd, () => undefined);
      if (!neg.ok) this.refuse(slot, { code: TFTP_ERROR.OPTION_REFUSED, message: neg.message, reason: 'bad-option', detail: neg.message });
      else this.release(slot);
      return;
    }
    slot.path = src.path;
    slot.size = src.size;
    slot.running = true;
    if (src.source.kind === 'fd') slot.fd = src.source.fd;
    this.opts.metrics.tftpActive.inc();
    this.pool.start({ ...this.jobSettings(), id: slot.id, client: slot.client, local: slot.via.local, params: neg.params, size: src.size, source: src.source });
  }

  /** What every transfer job carries from the server's options. */
  private jobSettings(): WarmUpHost['job'] {
    return {
      retries: this.opts.config.retries, minRtoMs: this.opts.minRtoMs ?? MIN_RTO_MS, segmentation: this.opts.segmentation ?? true,
      lockstepSpinUs: this.opts.lockstepSpinUs === undefined ? LOCKSTEP_SPIN_US : this.opts.lockstepSpinUs,
      directIo: this.opts.directIo ?? true,
    };
  }

  /** Warms the worker threads (warmup.ts); null without workers. */
  async warmUp(): Promise<WarmUpResult | null> {
    if (this.pool.lanes === 0) return null;
    return warmUpWorkers({
      pool: this.pool,
      nextId: () => this.nextId++,
      ended: (id) => new Promise((resolve) => this.warmEnds.set(id, resolve)),
      job: this.jobSettings(),
    });
  }

  private onReport(r: HostReport): void {
    if (r.type === 'warmed') {
      this.warmEnds.get(r.end.id)?.(r.end);
      this.warmEnds.delete(r.end.id);
      return;
    }
    const m = this.opts.metrics;
    if (r.bytes > 0) m.tftpBytes.inc(r.bytes);
    if (r.retransmits > 0) m.tftpRetransmits.inc(r.retransmits);
    if (r.type === 'progress') {
      for (const [id, bytes] of r.sessions) {
        const slot = this.slots.get(id);
        if (slot !== undefined) slot.bytesSent = bytes;
      }
      if (r.strangers > 0) this.opts.logger.debug({ count: r.strangers }, 'tftp packets from unknown transfer IDs answered with error 5');
      return;
    }
    this.ended(r.end);
  }

  private ended(end: TransferEnd): void {
    const slot = this.slots.get(end.id);
    if (slot === undefined) return;
    const m = this.opts.metrics;
    m.tftpActive.dec();
    m.tftpTransfers.inc({ result: end.result });
    if (end.result === 'ok') m.tftpDuration.observe(end.seconds);
    this.opts.logger.info(
      { client: slot.key, file: slot.path, result: end.result, bytes: end.bytes, size: slot.size, seconds: Number(end.seconds.toFixed(3)), retransmits: end.retransmits, detail: end.detail },
      'tftp transfer ended',
    );
    this.release(slot);
    try {
      this.opts.onComplete?.({ client: slot.client, path: slot.path, bytes: end.bytes, result: end.result, seconds: end.seconds });
    } catch (err) {
      this.opts.logger.error({ err }, 'tftp onComplete hook failed');
    }
  }

  async close(graceMs = 0): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(this.socks.map((s) => new Promise<void>((r) => s.sock.close(() => r()))));
    const idle = () => new Promise<void>((r) => (this.slots.size === 0 ? r() : this.idleWaiters.push(r)));
    const within = (ms: number) => Promise.race([idle(), new Promise<void>((r) => setTimeout(r, ms).unref())]);
    await within(graceMs);
    if (this.slots.size > 0) {
      this.pool.abortAll('server shutting down');
      await within(1000);
    }
    await this.pool.close();
  }
}

export async function startTftpServer(opts: TftpServerOptions): Promise<TftpServer> {
  const server = new Server(opts);
  try {
    await server.listen();
  } catch (err) {
    await server.close();
    throw err;
  }
  if (opts.warmUp === true) {
    const r = await server.warmUp();
    if (r !== null) {
      const level = r.ok === r.transfers ? 'debug' : 'warn';
      opts.logger[level]({ transfers: r.transfers, ok: r.ok, ms: r.ms }, 'tftp workers warmed up');
    }
  }
  return server;
}
