/**
 * HTTP door: boot files and per-client iPXE scripts for iPXE and UEFI HTTP boot clients, from the
 * same boot tree as TFTP. Each request stats the file, so a file replaced on disk is served fresh;
 * files that fit the memory cache are written from one shared Buffer, larger ones are streamed.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resolveInRoot } from '../files/root.js';
import type { WholeFileCache } from '../files/whole-cache.js';
import type { BootContent } from '../boot/content.js';
import type { Metrics } from '../metrics.js';
import { socketFd, type FileSender } from './sendfile.js';

export interface BootRoutesOptions {
  content: BootContent;
  root: () => string;
  metrics: Metrics;
  /** Boot files kept in memory (absent: every file is streamed from disk). */
  memory?: WholeFileCache;
  /**
   * Sends file bodies with sendfile(2) on plain HTTP connections (http.sendfile); absent or failing: the
   * body is written from memory or streamed from disk.
   */
  sendfile?: FileSender | null;
  /** Called when a whole file has been sent (boot-once completion markers). */
  onServed?: (ev: { clientIp: string; path: string; bytes: number }) => void;
}

function localAddress(req: FastifyRequest): string {
  return (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
}

/** Resolves when every byte written to `socket` so far is in the kernel (a zero-length write's callback). */
function flushed(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.write(Buffer.alloc(0), () => resolve()));
}

/**
 * A cached file as a stream of views into the shared Buffer (no copies): written to the socket with
 * backpressure like a file stream, so a client that hangs up half way is seen as one.
 */
function slices(buf: Buffer, step = 1 << 20): Readable {
  let at = 0;
  return new Readable({
    highWaterMark: step,
    read() {
      if (at >= buf.length) {
        this.push(null);
        return;
      }
      const end = Math.min(buf.length, at + step);
      this.push(buf.subarray(at, end));
      at = end;
    },
  });
}

export async function bootRoutes(app: FastifyInstance, opts: BootRoutesOptions): Promise<void> {
  const { metrics } = opts;
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const path = decodeURIComponent((req.params as { '*': string })['*'] ?? '');
    const clientIp = req.ip.replace(/^::ffff:/, '');
    const answer = await opts.content.answer({ path, clientIp, door: 'http', serverIp: localAddress(req) });
    if (answer.kind === 'refuse') {
      // A file that is not served (a template, a hidden file) looks like one that does not exist.
      const notFound = answer.reason === 'not-found';
      metrics.httpTransfers.inc({ kind: 'file', result: notFound ? 'not-found' : 'refused' });
      return notFound ? reply.code(404).type('text/plain').send('not-found\n') : reply.code(403).type('text/plain').send('forbidden\n');
    }
    if (answer.kind === 'content') {
      metrics.httpTransfers.inc({ kind: 'script', result: 'ok' });
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(answer.data);
    }
    const resolved = await resolveInRoot(opts.root(), answer.path);
    if (!resolved.ok) {
      metrics.httpTransfers.inc({ kind: 'file', result: resolved.reason === 'traversal' ? 'refused' : 'not-found' });
      return reply.code(resolved.reason === 'traversal' ? 403 : 404).type('text/plain').send(`${resolved.reason}\n`);
    }
    const st = await stat(resolved.abs);
    reply.header('content-length', st.size).type('application/octet-stream').header('last-modified', st.mtime.toUTCString());
    if (req.method === 'HEAD') {
      metrics.httpTransfers.inc({ kind: 'file', result: 'ok' });
      return reply.send();
    }
    const started = process.hrtime.bigint();
    metrics.httpActive.inc();
    let sent = 0;
    let settled = false;
    const finish = (result: 'ok' | 'error') => {
      if (settled) return;
      settled = true;
      metrics.httpActive.dec();
      metrics.httpTransfers.inc({ kind: 'file', result });
      metrics.httpBytes.inc(sent);
      metrics.httpDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      if (result === 'ok') opts.onServed?.({ clientIp, path: resolved.rel, bytes: sent });
    };
    const sender = opts.sendfile;
    if (sender && socketFd(req.raw.socket) !== null) {
      // Node writes the headers, the kernel the body (sendfile.ts); Node then ends the response, body-less
      // to it, and the connection serves the next request.
      const abort = new AbortController();
      let headed = false;
      try {
        const r = await sender.send(req.raw.socket, resolved.abs, 0, st.size, abort.signal, async () => {
          reply.hijack();
          headed = true;
          const res = reply.raw;
          res.once('close', () => abort.abort());
          res.writeHead(200, reply.getHeaders() as OutgoingHttpHeaders);
          res.flushHeaders();
          await flushed(req.raw.socket);
        });
        sent = r.sent;
        if (r.error === undefined && sent === st.size) {
          reply.raw.end();
          finish('ok');
        } else {
          // The connection went away (before or during the body): nothing more can be said on it.
          if (!headed) reply.hijack();
          req.raw.socket.destroy();
          finish('error');
        }
        return reply;
      } catch (err) {
        if (headed) {
          req.raw.socket.destroy();
          finish('error');
          return reply;
        }
        // Nothing written yet: the ordinary path below serves it.
        metrics.httpSendfileFallbacks.inc();
        req.log.debug({ err: (err as Error).message, path: resolved.rel }, 'sendfile not used');
      }
    }
    const cached = opts.memory ? await opts.memory.get(resolved.abs, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }) : null;
    const stream = cached ? slices(cached) : createReadStream(resolved.abs, { highWaterMark: 256 * 1024 });
    stream.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    // 'close' can come before 'finish' (and before the response is ended): a client that has every byte
    // the Content-Length promised hangs up at once (curl does, under load often), while the file stream's
    // end is still on its way to res.end(). Every byte handed to the socket and a clean hang-up (FIN; a
    // client that quits with bytes unread resets the connection) is a whole transfer; a boot-once marker
    // served over HTTP depends on it.
    reply.raw.once('finish', () => finish(sent === st.size ? 'ok' : 'error'));
    reply.raw.once('close', () => {
      const clean = !req.raw.socket.errored && sent === st.size && reply.raw.writableLength === 0;
      finish(clean ? 'ok' : 'error');
    });
    return reply.send(stream);
  };
  // HEAD has its own route: through the GET route (exposeHeadRoutes) fastify would answer a HEAD without
  // a body with Content-Length 0, and UEFI HTTP boot asks HEAD for the size it allocates.
  app.get('/*', { exposeHeadRoute: false }, handler);
  app.head('/*', handler);
}
