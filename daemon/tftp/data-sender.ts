/**
 * How a transfer's DATA leaves its connected socket, straight from the cache slots that hold the ready
 * packets (packets.ts): a window in one UDP GSO call where the path allows it; by direct send() calls on
 * the fd in worker threads (the kernel has copied the packets when the call returns, so a slot goes back
 * at once); through node:dgram's queue when the socket buffer is full or on the main thread, always in
 * order (a direct send waits until nothing is queued). A send refused locally is a lost packet, which
 * the session's timeout repairs; the client gone (ECONNREFUSED) ends the transfer.
 */
import type { Piece } from './packets.js';
import { setSegmentSize } from './sockopt.js';
import { EAGAIN, ECONNREFUSED, EINTR, type SyncIo } from './syncio.js';
import type { TransferSocket } from './transport.js';

export interface SenderEvents {
  /** The client is gone (ICMP port unreachable): the transfer ends. */
  refused(): void;
  /** Whether the transfer has ended (a late fallback sends nothing then). */
  finished(): boolean;
}

export class DataSender {
  /** DATA sends queued on node:dgram and not yet completed: direct sends wait until none, to keep order. */
  private dgramPending = 0;

  constructor(
    private readonly sock: TransferSocket,
    /** blksize + the 4-byte header: every packet's size but the file's last. */
    private readonly packetSize: number,
    /** DATA packets per send (UDP GSO); 1 = one send per packet. */
    private segments: number,
    /** Direct sends on the fd (worker threads), or null: node:dgram sends everything. */
    private readonly direct: SyncIo | null,
    private readonly on: SenderEvents,
  ) {}

  /**
   * Sends consecutive DATA packets straight from their cache slot: `segments` packets per UDP GSO call
   * (all but the file's last packet have the same size, and the last can only end a piece), else one
   * call per packet. In the lock-step loop (`sync`) by its synchronous sends; else direct sends when the
   * transfer may (sendDirect), else through node:dgram.
   */
  send(p: Piece, sync: SyncIo | null): void {
    if (sync !== null && this.dgramPending === 0 && this.sendSync(p, sync)) return;
    if (this.direct !== null && this.dgramPending === 0 && this.sendDirect(p)) return;
    this.sendQueued(p, p.start);
  }

  /**
   * The piece's packets from byte `from` on through node:dgram's queue. Sends complete in order, so the
   * last one's callback gives the slot back.
   */
  private sendQueued(p: Piece, from: number): void {
    const packetSize = this.packetSize;
    const step = (this.segments > 1 ? this.segments : 1) * packetSize;
    for (let at = from; at < p.end; at += step) {
      const end = Math.min(at + step, p.end);
      const last = end === p.end;
      const data = p.buf.subarray(at, end);
      const segmented = this.segments > 1 && end - at > packetSize;
      this.queueData(data, (err) => {
        if (err !== null) {
          if (segmented) this.segmentationFailed(err, Buffer.from(data));
          else this.sendFailed(err);
        }
        if (last) p.release();
      });
    }
  }

  /** One DATA send through node:dgram, counted until it completes (direct sends wait for none pending). */
  private queueData(data: Buffer, done: (err: Error | null) => void): void {
    this.dgramPending += 1;
    this.sock.send(data, (err) => {
      this.dgramPending -= 1;
      done(err);
    });
  }

  /**
   * A DATA send failed. ECONNREFUSED (an ICMP port unreachable from the client) ends the transfer; any
   * other error (a local firewall's drop is EPERM, a full device queue ENOBUFS) is a lost packet, which
   * the session's timeout repairs like a loss on the wire.
   */
  private sendFailed(err: Error): void {
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.on.refused();
  }

  /**
   * Sends a piece with send() calls on the connected socket's fd (non-blocking; a window is one call with
   * UDP GSO). Each call returns once the kernel has copied its packets, so the slot goes back at once and
   * a window costs no send request, no completion callback and no event-loop turn for either. False
   * (nothing sent) when the first call would block: node:dgram's queue takes the piece and waits for
   * room. A call that would block midway, or a segmented send the path refuses, hands the rest to
   * node:dgram (one packet per send after a refusal), in order; any other error drops the packet, as
   * node:dgram would (sendFailed).
   */
  private sendDirect(p: Piece): boolean {
    const io = this.direct as SyncIo;
    const fd = this.sock.fd as number;
    const packetSize = this.packetSize;
    const step = (this.segments > 1 ? this.segments : 1) * packetSize;
    for (let at = p.start; at < p.end; at += step) {
      const end = Math.min(at + step, p.end);
      const n = io.send(fd, p.buf.subarray(at, end));
      if (n >= 0) continue;
      if (n === -ECONNREFUSED) {
        p.release();
        this.on.refused();
        return true;
      }
      const blocked = n === -EAGAIN || n === -EINTR;
      if (!blocked && this.segments > 1 && end - at > packetSize) {
        // The path refused a segmented send (MTU change, no checksum offload): one packet per send from now on.
        setSegmentSize(fd, 0);
        this.segments = 1;
      } else if (!blocked) {
        continue; // lost here rather than on the wire (see sendFailed): the timeout resends it
      } else if (at === p.start) {
        return false;
      }
      this.sendQueued(p, at);
      return true;
    }
    p.release();
    return true;
  }

  /**
   * Sends a piece's packets with synchronous send calls (the lock-step loop). The kernel has copied each
   * packet when the call returns, so the slot goes back at once. False (nothing sent) when the first
   * send would block, so the caller queues the piece on the socket instead; a later full buffer sends
   * the rest that way.
   */
  private sendSync(p: Piece, io: SyncIo): boolean {
    const fd = this.sock.fd;
    if (fd === null) return false;
    const packetSize = this.packetSize;
    for (let at = p.start; at < p.end; at += packetSize) {
      const n = io.send(fd, p.buf.subarray(at, Math.min(at + packetSize, p.end)));
      if (n >= 0) continue;
      if (n === -ECONNREFUSED) {
        p.release();
        this.on.refused();
        return true;
      }
      if (at === p.start) return false;
      // Would block (or failed) midway: the socket's own queue takes the rest, in order, one packet per send.
      for (let rest = at; rest < p.end; rest += packetSize) this.queueData(Buffer.from(p.buf.subarray(rest, Math.min(rest + packetSize, p.end))), () => undefined);
      break;
    }
    p.release();
    return true;
  }

  /** The path refused a segmented send (MTU change, no checksum offload): fall back to per-packet sends. */
  private segmentationFailed(err: Error, packets: Buffer): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') {
      this.on.refused();
      return;
    }
    if (this.segments > 1 && this.sock.fd !== null) setSegmentSize(this.sock.fd, 0);
    this.segments = 1;
    if (this.on.finished()) return;
    const packetSize = this.packetSize;
    for (let at = 0; at < packets.length; at += packetSize) {
      this.queueData(packets.subarray(at, Math.min(at + packetSize, packets.length)), (e) => {
        if (e !== null) this.sendFailed(e);
      });
    }
  }
}
