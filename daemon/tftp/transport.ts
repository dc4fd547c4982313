/**
 * The UDP sockets of one transfer (its transfer ID, RFC 1350 section 4). Only this file and server.ts
 * touch node:dgram in the TFTP engine: they live here rather than in daemon/net because a transfer runs
 * inside a worker thread that must own its sockets.
 *
 * Fast path: two sockets share the transfer's port (SO_REUSEADDR). One is connected to the client, so
 * the kernel hands it only the client's packets and sends need no address (measured about 20% faster
 * per packet in Node than addressed sends); the other, unconnected, receives everything else, which is
 * how a stranger gets its error 5 without disturbing the transfer. A port claimed by another transfer
 * of this process is never reused while it is live (see PortClaims); if the pair cannot be set up, one
 * unconnected socket does both jobs.
 */
import dgram from 'node:dgram';
import { socketFd } from './sockopt.js';

export interface Peer {
  address: string;
  port: number;
}

export interface TransferSocket {
  readonly port: number;
  /** The connected socket's fd (for UDP segmentation, sockopt.ts), or null. */
  readonly fd: number | null;
  /** Sends to the client; with a callback, a send error goes there instead of onSocketError. */
  send(packet: Buffer | Buffer[], cb?: (err: Error | null) => void): void;
  /** Sends to someone else (error 5 to a stranger). */
  sendTo(packet: Buffer, peer: Peer): void;
  close(): void;
}

export interface SocketHandlers {
  /** A packet from the client's address and port. */
  onClient(msg: Buffer): void;
  /** A packet from anyone else. */
  onStranger(msg: Buffer, from: Peer): void;
  /** The client is gone (ICMP port unreachable on the connected socket) or the socket failed. */
  onSocketError(err: Error): void;
}

/**
 * Ports held by live transfers of this process, shared by all worker threads through a
 * SharedArrayBuffer: with SO_REUSEADDR set on both sides, Linux may hand an auto-bound port that another
 * reuse socket already holds, so each transfer first claims its port here.
 */
export class PortClaims {
  readonly buffer: SharedArrayBuffer;
  private readonly bits: Int32Array;
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(65536 / 8);
    this.bits = new Int32Array(this.buffer);
  }
  claim(port: number): boolean {
    const mask = 1 << (port & 31);
    const old = Atomics.or(this.bits, port >>> 5, mask);
    return (old & mask) === 0;
  }
  release(port: number): void {
    Atomics.and(this.bits, port >>> 5, ~(1 << (port & 31)));
  }
}

function bind(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind({ port, address, exclusive: true }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

function connect(sock: dgram.Socket, peer: Peer): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.connect(peer.port, peer.address, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

/** An IPv4 literal needs no resolver; the default one defers every addressed send by a tick. */
function literalLookup(address: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  cb(null, address, 4);
}

function isPeer(from: dgram.RemoteInfo, peer: Peer): boolean {
  return from.port === peer.port && from.address === peer.address;
}

async function pairSocket(local: string, peer: Peer, claims: PortClaims, h: SocketHandlers): Promise<TransferSocket | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    // An exclusive (non-reuse) auto-bind yields a port nobody else on the host holds.
    const probe = dgram.createSocket('udp4');
    await bind(probe, 0, local);
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    if (!claims.claim(port)) continue;
    const strangers = dgram.createSocket({ type: 'udp4', reuseAddr: true, lookup: literalLookup });
    const client = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    try {
      await bind(strangers, port, local);
      await bind(client, port, local);
      await connect(client, peer);
    } catch {
      strangers.close();
      client.close();
      claims.release(port);
      continue;
    }
    strangers.on('message', (msg, from) => (isPeer(from, peer) ? h.onClient(msg) : h.onStranger(msg, from)));
    strangers.on('error', () => undefined);
    client.on('message', (msg, from) => (isPeer(from, peer) ? h.onClient(msg) : h.onStranger(msg, from)));
    client.on('error', (err) => h.onSocketError(err));
    let closed = false;
    return {
      port,
      fd: socketFd(client),
      send: (packet, cb) => (cb ? client.send(packet, cb) : client.send(packet)),
      sendTo: (packet, to) => strangers.send(packet, to.port, to.address),
      close: () => {
        if (closed) return;
        closed = true;
        client.close();
        strangers.close();
        claims.release(port);
      },
    };
  }
  return null;
}

async function singleSocket(local: string, peer: Peer, h: SocketHandlers): Promise<TransferSocket> {
  const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
  await bind(sock, 0, local);
  sock.on('message', (msg, from) => (isPeer(from, peer) ? h.onClient(msg) : h.onStranger(msg, from)));
  sock.on('error', (err) => h.onSocketError(err));
  let closed = false;
  return {
    port: sock.address().port,
    fd: null,
    send: (packet, cb) => (cb ? sock.send(packet, peer.port, peer.address, cb) : sock.send(packet, peer.port, peer.address)),
    sendTo: (packet, to) => sock.send(packet, to.port, to.address),
    close: () => {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}

/** Opens the sockets of a new transfer on `local` (the address the request arrived on). */
export async function openTransferSocket(local: string, peer: Peer, claims: PortClaims | null, h: SocketHandlers): Promise<TransferSocket> {
  if (claims !== null) {
    const pair = await pairSocket(local, peer, claims, h);
    if (pair !== null) return pair;
  }
  return singleSocket(local, peer, h);
}
