/**
 * The live boot feed as server-sent events: every feed event as `event: boot` with its id, replay from
 * Last-Event-ID after a reconnect, a comment every 15 s so proxies keep the connection, and the end of
 * the stream as soon as its session ends (signed out elsewhere, expired). Events for a stream that
 * cannot keep up are dropped beyond a bound rather than buffered without end.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BootEvent, BootFeed } from './live.js';

export interface StreamOptions {
  feed: BootFeed;
  /** Whether the stream's session is still valid; checked at every heartbeat (expiry). */
  /** Whether the session is still live (asked on every heartbeat; may take a round trip to the store). */
  alive: () => Promise<boolean>;
  /** Registers the end of the stream's session by sign-out (the stream ends at once); returns the unregister. */
  onRevoke: (fn: () => void) => () => void;
  heartbeatMs?: number;
}

/** Writes buffered by the socket beyond this many bytes: further events are dropped until it drains. */
const MAX_BUFFERED = 1024 * 1024;

export function formatEvent(e: BootEvent): string {
  return `id: ${e.id}\nevent: boot\ndata: ${JSON.stringify(e)}\n\n`;
}

export function streamBoots(req: FastifyRequest, reply: FastifyReply, opts: StreamOptions): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const send = (e: BootEvent) => {
    if (res.writableLength > MAX_BUFFERED) return;
    res.write(formatEvent(e));
  };
  // A reconnect says where it was (Last-Event-ID); a first connect says which snapshot it holds (?after=).
  const after = (req.query as { after?: unknown }).after;
  const lastId = Number(req.headers['last-event-id'] ?? (typeof after === 'string' ? after : undefined));
  if (Number.isSafeInteger(lastId) && lastId >= 0) for (const e of opts.feed.since(lastId)) send(e);
  const unsubscribe = opts.feed.subscribe(send);
  const signedOut = () => res.end('event: signed-out\ndata: {}\n\n');
  const unwatch = opts.onRevoke(signedOut);
  let asking = false;
  const beat = setInterval(() => {
    if (asking) return;
    asking = true;
    opts.alive().then((live) => {
      if (res.writableEnded || res.destroyed) return;
      if (!live) signedOut();
      else res.write(`: ${Date.now()}\n\n`);
    }, () => {
      // The store cannot say now: the stream stays, and the next heartbeat asks again.
    }).finally(() => { asking = false; });
  }, opts.heartbeatMs ?? 15_000);
  beat.unref();
  const done = () => {
    clearInterval(beat);
    unsubscribe();
    unwatch();
  };
  res.once('close', done);
  res.once('error', done);
}
