/**
 * The storm generator's HTTP/1.1 client: what iPXE does (GET on one keep-alive connection per machine,
 * one request after the other), at a fraction of node:http's cost per byte, so the generator, not the
 * server under test, stops being what sets a storm's pace. Every socket reads into one shared buffer
 * (net's `onread`: no Buffer per read, no stream machinery) and a response is parsed just enough:
 * status line, Content-Length, then the body counted. Chunked bodies are refused (neither server sends
 * them for a file). What arrives is checked against `expect` when given: the byte count, and 64 bytes at
 * the start of every read compared with the file at that offset, so a shifted, repeated or foreign
 * byte range is caught without a full compare of every byte.
 *
 * Bounded: a connection with no data for `idleMs` fails; headers over 16 KiB fail.
 */
import { connect, type Socket } from 'node:net';

const shared = Buffer.allocUnsafe(256 * 1024);
const SAMPLE = 64;

export interface HttpResult {
  bytes: number;
  /** The body, when asked to keep it (scripts). */
  body?: Buffer;
}

interface Pending {
  path: string;
  keep: boolean;
  expect?: Buffer;
  resolve: (r: HttpResult) => void;
  reject: (e: Error) => void;
  head: Buffer[];
  headBytes: number;
  length: number; // -1 until the headers are read
  got: number;
  parts: Buffer[];
}

export class StormHttpClient {
  private sock: Socket | null = null;
  private pending: Pending | null = null;
  private open = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly localAddress: string,
    private readonly idleMs = 120_000,
  ) {}

  /** GET `path`; keep the body when `keep`; check it against `expect` when given. */
  get(path: string, opts: { keep?: boolean; expect?: Buffer } = {}): Promise<HttpResult> {
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      this.pending = { path, keep: opts.keep ?? false, expect: opts.expect, resolve, reject, head: [], headBytes: 0, length: -1, got: 0, parts: [] };
      const request = `GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nUser-Agent: iPXE/1.21.1 (storm)\r\nConnection: keep-alive\r\n\r\n`;
      if (this.sock && this.open) {
        this.sock.write(request);
        return;
      }
      const sock = connect({
        host: this.host,
        port: this.port,
        localAddress: this.localAddress,
        onread: { buffer: shared, callback: (n: number, buf: Uint8Array) => { this.onData(buf as Buffer, n); return true; } },
      });
      this.sock = sock;
      sock.setTimeout(this.idleMs, () => sock.destroy(new Error(`no data for ${this.idleMs} ms`)));
      sock.once('connect', () => {
        this.open = true;
        sock.write(request);
      });
      sock.on('error', (err) => this.fail(new Error(`GET ${path}: ${err.message}`)));
      sock.on('close', () => {
        this.open = false;
        if (this.sock === sock) this.sock = null;
        this.fail(new Error(`GET ${path}: connection closed after ${this.pending?.got ?? 0} body bytes`));
      });
    });
  }

  close(): void {
    this.sock?.destroy();
    this.sock = null;
  }

  private fail(err: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    p.reject(err);
  }

  private onData(buf: Buffer, n: number): void {
    const p = this.pending;
    if (!p) {
      this.sock?.destroy(new Error('data with no request outstanding'));
      return;
    }
    if (p.length < 0) {
      p.head.push(Buffer.from(buf.subarray(0, n)));
      p.headBytes += n;
      const all = p.head.length === 1 ? (p.head[0] as Buffer) : Buffer.concat(p.head);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        if (p.headBytes > 16 * 1024) this.sock?.destroy(new Error(`response headers over 16 KiB, starting ${JSON.stringify(all.subarray(0, 48).toString('latin1'))}`));
        return;
      }
      const head = all.subarray(0, end).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!status || status[1] !== '200') {
        this.sock?.destroy(new Error(`GET ${p.path}: ${head.split('\r\n')[0] ?? 'no status line'}`));
        return;
      }
      if (!len?.[1] || /\r\ntransfer-encoding:/i.test(head)) {
        this.sock?.destroy(new Error(`GET ${p.path}: no Content-Length`));
        return;
      }
      p.length = Number(len[1]);
      if (p.expect && p.expect.length !== p.length) {
        this.sock?.destroy(new Error(`GET ${p.path}: Content-Length ${p.length}, the file has ${p.expect.length}`));
        return;
      }
      p.head = [];
      // The body bytes that came with the headers, from the copy (`buf` may be only part of `all`).
      this.body(p, all.subarray(end + 4));
    } else {
      this.body(p, buf.subarray(0, n));
    }
  }

  private body(p: Pending, chunk: Buffer): void {
    if (chunk.length === 0 && p.got < p.length) return;
    if (p.got + chunk.length > p.length) {
      this.sock?.destroy(new Error(`GET ${p.path}: ${p.got + chunk.length - p.length} bytes past Content-Length`));
      return;
    }
    if (p.expect && chunk.length > 0) {
      const k = Math.min(SAMPLE, chunk.length);
      if (p.expect.compare(chunk, 0, k, p.got, p.got + k) !== 0) {
        this.sock?.destroy(new Error(`GET ${p.path}: bytes at offset ${p.got} differ from the file`));
        return;
      }
    }
    if (p.keep) p.parts.push(Buffer.from(chunk));
    p.got += chunk.length;
    if (p.got === p.length) {
      this.pending = null;
      p.resolve({ bytes: p.got, body: p.keep ? Buffer.concat(p.parts) : undefined });
    }
  }
}
