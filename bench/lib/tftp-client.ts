/**
 * The benchmark's own TFTP read client (RFC 1350 with the option extension of RFC 2347, blksize and
 * tsize of RFC 2348/2349 and windowsize of RFC 7440), independent of the server code under test. It
 * acknowledges every `windowsize`-th block and the last one as OVMF does, answers a gap by
 * acknowledging the last block it has in order, and resends its last packet after a quiet timeout.
 * A server that does not acknowledge windowsize in its OACK is read in lock-step. Every wait is
 * bounded by timeoutMs x maxTries; the download's SHA-256 is returned so callers can check it.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';

export interface TftpGetOptions {
  server: string;
  port?: number;
  /** The address this client sends from (each simulated machine has its own). */
  localAddress: string;
  file: string;
  blksize: number;
  windowsize: number;
  timeoutMs?: number;
  maxTries?: number;
}

export interface TftpGetResult {
  bytes: number;
  sha256: string;
  /** The window the server agreed to (1 when it ignored the option). */
  windowsize: number;
  retransmits: number;
}

const Op = { rrq: 1, data: 3, ack: 4, error: 5, oack: 6 } as const;

function ack(block: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(Op.ack, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  return b;
}

function rrq(o: TftpGetOptions): Buffer {
  const fields = [o.file, 'octet', 'blksize', String(o.blksize), 'tsize', '0'];
  if (o.windowsize > 1) fields.push('windowsize', String(o.windowsize));
  return Buffer.concat([Buffer.from([0, Op.rrq]), ...fields.map((f) => Buffer.from(`${f}\0`, 'latin1'))]);
}

/** The option pairs of an OACK; malformed text yields what parsed before it. */
function oackOptions(msg: Buffer): Map<string, string> {
  const parts = msg.subarray(2).toString('latin1').split('\0');
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) out.set((parts[i] ?? '').toLowerCase(), parts[i + 1] ?? '');
  return out;
}

export function tftpGet(o: TftpGetOptions): Promise<TftpGetResult> {
  const timeoutMs = o.timeoutMs ?? 1000;
  const maxTries = o.maxTries ?? 6;
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const hash = createHash('sha256');
    let peerPort: number | null = null;
    let blksize = 512;
    let window = 1;
    let last = 0; // last block received in order
    let sinceAck = 0;
    let bytes = 0;
    let lastSent = rrq(o);
    let tries = 0;
    let retransmits = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve({ bytes, sha256: hash.digest('hex'), windowsize: window, retransmits });
    };
    const send = (msg: Buffer): void => {
      lastSent = msg;
      sock.send(msg, peerPort ?? (o.port ?? 69), o.server);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        tries += 1;
        if (tries >= maxTries) {
          finish(new Error(`tftp ${o.file}: no answer after ${maxTries} tries (${bytes} bytes received)`));
          return;
        }
        retransmits += 1;
        send(lastSent);
        arm();
      }, timeoutMs);
    };
    sock.on('error', (err) => finish(err));
    let complete = false;
    sock.on('message', (msg, rinfo) => {
      if (complete || rinfo.address !== o.server || msg.length < 4) return;
      if (peerPort === null) peerPort = rinfo.port;
      else if (rinfo.port !== peerPort) return; // another transfer's port (RFC 1350: ignore)
      const op = msg.readUInt16BE(0);
      if (op === Op.error) {
        finish(new Error(`tftp ${o.file}: server error ${msg.readUInt16BE(2)} ${msg.subarray(4).toString('latin1').replace(/\0.*$/, '')}`));
        return;
      }
      tries = 0;
      if (op === Op.oack) {
        const opts = oackOptions(msg);
        blksize = Number(opts.get('blksize') ?? 512);
        window = Number(opts.get('windowsize') ?? 1);
        send(ack(0));
        arm();
        return;
      }
      if (op !== Op.data) return;
      const block = msg.readUInt16BE(2);
      if (block === ((last + 1) & 0xffff)) {
        const data = msg.subarray(4);
        hash.update(data);
        bytes += data.length;
        last = block;
        sinceAck += 1;
        if (data.length < blksize) {
          // The last ACK must leave before the socket closes: dgram sends on a later tick (after its
          // address lookup), and a send after close() is dropped, which leaves the server resending its
          // last window until it times out, as if the client had vanished (OVMF does ACK it).
          complete = true;
          clearTimeout(timer);
          lastSent = ack(last);
          sock.send(lastSent, peerPort ?? (o.port ?? 69), o.server, () => finish(null));
          return;
        }
        if (sinceAck >= window) {
          sinceAck = 0;
          send(ack(last));
        }
      } else if (sinceAck > 0 || block !== last) {
        // A gap or an old block: say where we are, once, so the server resends from there.
        sinceAck = 0;
        send(ack(last));
      }
      arm();
    });
    sock.bind(0, o.localAddress, () => {
      send(lastSent);
      arm();
    });
  });
}
