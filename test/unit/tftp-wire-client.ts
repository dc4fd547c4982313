/**
 * A scriptable TFTP client for the server tests: raw packets in and out on 127.0.0.x, plus a download
 * routine that behaves like an RFC 7440 receiver (ACK per window, one extra ACK on an out-of-order
 * block, re-ACK on timeout) with hooks to misbehave (duplicate every ACK, ...). Not a test file.
 */
import dgram from 'node:dgram';
import { decodeTftp, encodeTftp, type TftpPacket } from '../../daemon/protocol/tftp/codec.js';

export interface Peer {
  address: string;
  port: number;
}

export interface Received {
  pkt: TftpPacket;
  from: Peer;
}

export class WireClient {
  private readonly queue: Received[] = [];
  private waiter: (() => void) | null = null;
  private pending = 0;
  private constructor(private readonly sock: dgram.Socket) {
    sock.on('message', (msg, rinfo) => {
      let pkt: TftpPacket;
      try {
        pkt = decodeTftp(msg);
      } catch {
        return;
      }
      this.queue.push({ pkt, from: { address: rinfo.address, port: rinfo.port } });
      const w = this.waiter;
      this.waiter = null;
      w?.();
    });
  }

  static async open(address = '127.0.0.1'): Promise<WireClient> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, address, () => r()));
    return new WireClient(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  send(p: TftpPacket | Buffer, to: Peer): void {
    this.pending++;
    this.sock.send(Buffer.isBuffer(p) ? p : encodeTftp(p), to.port, to.address, () => {
      this.pending--;
    });
  }

  /** The next packet, or null after `ms` without one. */
  async next(ms = 3000): Promise<Received | null> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.queue.shift() ?? null;
  }

  /** Closes once every packet handed to send() has left. */
  async close(): Promise<void> {
    for (let i = 0; i < 200 && this.pending > 0; i++) await new Promise((r) => setImmediate(r));
    await new Promise<void>((r) => this.sock.close(() => r()));
  }
}

export interface DownloadOptions {
  options?: Record<string, string>;
  mode?: string;
  /** Send every ACK twice. */
  duplicateAcks?: boolean;
  /** Called for every DATA, may send extra packets (hostile tests). */
  onData?: (block: number, from: Peer, client: WireClient) => void;
  /** Give up after this long without a packet (ms). */
  idleMs?: number;
}

export interface Download {
  data: Buffer;
  oack: Record<string, string> | null;
  error: { code: number; message: string } | null;
  /** DATA packets received, duplicates included. */
  dataPackets: number;
  server: Peer | null;
}

/** Downloads `file` from `server` (the request port). Resolves with what happened, never rejects. */
export async function download(client: WireClient, server: Peer, file: string, o: DownloadOptions = {}): Promise<Download> {
  const options = o.options ?? {};
  client.send({ op: 'rrq', filename: file, mode: o.mode ?? 'octet', options }, server);
  let blksize = 512;
  let tid: Peer | null = null;
  let oack: Record<string, string> | null = null;
  const parts: Buffer[] = [];
  let expected = 1;
  let count = 0;
  let extraSent = false;
  let dataPackets = 0;
  const ack = (block: number) => {
    count = 0;
    const p: TftpPacket = { op: 'ack', block: block & 0xffff };
    client.send(p, tid as Peer);
    if (o.duplicateAcks) client.send(p, tid as Peer);
  };
  for (;;) {
    const r = await client.next(o.idleMs ?? 3000);
    if (r === null) {
      if (tid === null) return { data: Buffer.concat(parts), oack, error: { code: -1, message: 'no answer' }, dataPackets, server: tid };
      ack(expected - 1);
      continue;
    }
    tid ??= r.from;
    if (r.from.port !== tid.port) continue;
    const p = r.pkt;
    if (p.op === 'error') return { data: Buffer.concat(parts), oack, error: { code: p.code, message: p.message }, dataPackets, server: tid };
    if (p.op === 'oack') {
      oack = p.options;
      blksize = Number(p.options.blksize ?? '512');
      if (expected === 1) ack(0);
      continue;
    }
    if (p.op !== 'data') continue;
    dataPackets++;
    o.onData?.(p.block, tid, client);
    if (p.block === (expected & 0xffff)) {
      parts.push(Buffer.from(p.data));
      expected++;
      count++;
      extraSent = false;
      const last = p.data.length < blksize;
      // The window is what the server granted in its OACK (lockstep without one).
      if (last || count >= Number(oack?.windowsize ?? '1')) ack(expected - 1);
      if (last) return { data: Buffer.concat(parts), oack, error: null, dataPackets, server: tid };
    } else if (!extraSent) {
      extraSent = true;
      ack(expected - 1);
    }
  }
}

/** Polls `cond` every few ms until it holds or `ms` pass (a bounded wait, not a timing assertion). */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return cond();
}
