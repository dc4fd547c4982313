/**
 * One TFTP read transfer as a pure state machine: `step(state, event, now) -> { state, actions }`.
 * No sockets, no timers, no files: the driver executes the actions and delivers a `timeout` event when
 * `state.deadline` passes, so loss, duplicated ACKs and timeouts are testable with a fake clock.
 *
 * Blocks are counted as absolute numbers 1..totalBlocks; the wire carries them modulo 65536, so a file
 * beyond 65535 blocks rolls over to block 0 (what tftp-hpa and iPXE expect).
 *
 * Sending is window-at-a-time (RFC 7440): after an ACK for block a, the blocks a+1 .. a+window are sent.
 * An RFC 7440 receiver ACKs at the end of each window, and once, at once, when a block arrives out of
 * order (atftp: "got wrong block, sending extra ACK"); every ACK it sends starts its next window count.
 * So an ACK inside the outstanding window usually means a gap after a: the rest is resent at once
 * (fast recovery, no timeout). The exception is an ACK provoked by a block the client already had,
 * which only a timeout resend can deliver: its successors are still in flight, so resending them
 * would provoke the next such ACK and the windows would never realign. Then the window is only topped
 * up with new blocks. An ACK equal to the last one acknowledged is a duplicate and changes nothing,
 * so a duplicated ACK can never double the DATA sent (RFC 1350's Sorcerer's Apprentice bug).
 * Retransmission timeouts follow the measured round trip (RFC 6298 style, Karn's rule), bounded by the
 * client's RFC 2349 timeout or the configured one.
 */
import { TFTP_ERROR, TFTP_LIMITS } from '../protocol/tftp/codec.js';

export type TransferResult = 'ok' | 'probe' | 'aborted' | 'timeout' | 'error';

export interface SessionConfig {
  size: number;
  blksize: number;
  windowSize: number;
  /** Largest window a variable-window client may ask for (already clamped to the in-flight budget). */
  windowMax: number;
  msftWindow: boolean;
  /** An OACK goes first and DATA only follows its ACK(0) (RFC 2347; no amplification for spoofed requests). */
  oack: boolean;
  /** Consecutive timeouts without progress before giving up. */
  retries: number;
  /** Retransmission timeout ceiling (ms) and the timeout used before the first round-trip sample. */
  maxRtoMs: number;
  /** Floor for the adaptive timeout: below this, timer granularity and scheduling noise cause false alarms. */
  minRtoMs: number;
}

export type Phase = 'oack' | 'data' | 'done';

/**
 * One transmission of consecutive blocks. A timeout resend (`rto`) may repeat blocks the client already
 * has: those are from..resentTo; anything after resentTo was new.
 */
export interface Burst {
  readonly from: number;
  readonly to: number;
  readonly rto: boolean;
  readonly resentTo: number;
}

export interface SessionState {
  readonly cfg: SessionConfig;
  readonly phase: Phase;
  readonly totalBlocks: number;
  /** Lowest absolute block not yet acknowledged. */
  readonly base: number;
  /** Highest absolute block transmitted so far (0 before any DATA). */
  readonly highest: number;
  readonly window: number;
  /** Recent transmissions, oldest first: which blocks a timeout resend may have delivered twice. */
  readonly bursts: readonly Burst[];
  readonly srtt: number | null;
  readonly rttvar: number;
  readonly rto: number;
  /** Block whose ACK yields a round-trip sample (0 = the OACK), -1 when nothing is timed. */
  readonly timedBlock: number;
  readonly timedAt: number;
  /** When the driver must deliver a `timeout` event; Infinity once done. */
  readonly deadline: number;
  /** Consecutive timeouts since the last progress, and when that progress was. */
  readonly timeouts: number;
  readonly progressAt: number;
  /** Payload bytes sent for the first time (what the client has been offered). */
  readonly bytesSent: number;
  readonly retransmits: number;
  readonly result: TransferResult | null;
}

export type SessionEvent =
  | { type: 'start' }
  | { type: 'ack'; block: number; windowHint?: number | undefined }
  | { type: 'error'; code: number; message: string }
  | { type: 'timeout' }
  /** The server ends the transfer (shutdown, unreadable file). */
  | { type: 'abort'; message: string };

export type SessionAction =
  | { type: 'oack' }
  /** Send absolute blocks from..to (inclusive); `resent` of them were sent before. */
  | { type: 'data'; from: number; to: number; resent: number }
  | { type: 'error'; code: number; message: string }
  | { type: 'end'; result: TransferResult };

export interface Step {
  state: SessionState;
  actions: SessionAction[];
}

/** Blocks in a transfer: the last block is short, possibly empty (RFC 1350: a block < blksize ends it). */
export function blockCount(size: number, blksize: number): number {
  return Math.floor(size / blksize) + 1;
}

/** Payload length of absolute block `b`. */
export function blockLength(size: number, blksize: number, b: number): number {
  return Math.max(0, Math.min(blksize, size - (b - 1) * blksize));
}

export function createSession(cfg: SessionConfig): SessionState {
  return {
    cfg,
    phase: cfg.oack ? 'oack' : 'data',
    totalBlocks: blockCount(cfg.size, cfg.blksize),
    base: 1,
    highest: 0,
    window: Math.max(1, Math.min(cfg.windowSize, cfg.windowMax)),
    bursts: [],
    srtt: null,
    rttvar: 0,
    rto: cfg.maxRtoMs,
    timedBlock: -1,
    timedAt: 0,
    deadline: Infinity,
    timeouts: 0,
    progressAt: 0,
    bytesSent: 0,
    retransmits: 0,
    result: null,
  };
}

/** A state being built by one step: a single copy per event, then plain assignments (the hot path). */
type Draft = { -readonly [K in keyof SessionState]: SessionState[K] };

/** The timeout for the measured round trip (RFC 6298 section 2.3). */
function rtoFor(s: SessionState): number {
  if (s.srtt === null) return s.cfg.maxRtoMs;
  return Math.min(s.cfg.maxRtoMs, Math.max(s.cfg.minRtoMs, s.srtt + Math.max(1, 4 * s.rttvar)));
}

/** RFC 6298 section 2 smoothing; the clock granularity term is 1 ms (Node timers). */
function addSample(d: Draft, sample: number): void {
  const r = Math.max(0, sample);
  if (d.srtt === null) {
    d.srtt = r;
    d.rttvar = r / 2;
  } else {
    d.rttvar = 0.75 * d.rttvar + 0.25 * Math.abs(d.srtt - r);
    d.srtt = 0.875 * d.srtt + 0.125 * r;
  }
  d.rto = rtoFor(d);
  d.timedBlock = -1;
}

function end(d: Draft, result: TransferResult, actions: SessionAction[]): Step {
  actions.push({ type: 'end', result });
  d.phase = 'done';
  d.result = result;
  d.deadline = Infinity;
  d.timedBlock = -1;
  return { state: d, actions };
}

/** Sends blocks from..to (clipped to the file) and arms the timer. */
function sendRange(d: Draft, from: number, to0: number, rto: boolean, now: number, actions: SessionAction[]): void {
  d.deadline = now + d.rto;
  const to = Math.min(to0, d.totalBlocks);
  if (to < from) return;
  const resent = Math.max(0, Math.min(to, d.highest) - from + 1);
  actions.push({ type: 'data', from, to, resent });
  for (let b = Math.max(from, d.highest + 1); b <= to; b++) d.bytesSent += blockLength(d.cfg.size, d.cfg.blksize, b);
  // Karn's rule: only a block sent once gives a round-trip sample; a resend of the timed block voids it.
  if (d.timedBlock >= from && d.timedBlock <= to) d.timedBlock = -1;
  if (d.timedBlock < 0 && to > d.highest) {
    d.timedBlock = to;
    d.timedAt = now;
  }
  // Bursts wholly acknowledged are forgotten, so the list stays a few entries long.
  const bursts = d.bursts.filter((b) => b.to >= d.base);
  bursts.push({ from, to, rto, resentTo: from + resent - 1 });
  d.bursts = bursts;
  d.highest = Math.max(d.highest, to);
  d.retransmits += resent;
}

/** The window from `from` (= base): new blocks, or (after a gap or a timeout) the lost ones again. */
function sendWindow(d: Draft, from: number, now: number, actions: SessionAction[], rto = false): void {
  sendRange(d, from, from + d.window - 1, rto, now, actions);
}

/**
 * Whether an ACK for `a` (inside the window) may have been provoked by a block delivered twice: the
 * latest transmission of a+1 belongs to a timeout resend, and a lies in the part of it that repeated
 * blocks (a client answers a duplicate with its last in-order block, which is at most the old highest).
 * Past that part the burst carried new blocks, and an ACK there is a gap report like any other.
 */
function provokedByDuplicate(s: SessionState, a: number): boolean {
  for (let i = s.bursts.length - 1; i >= 0; i--) {
    const b = s.bursts[i] as Burst;
    if (b.from <= a + 1 && a + 1 <= b.to) return b.rto && b.from <= a && a <= b.resentTo;
  }
  return false;
}

/** Maps a 16-bit ACK number to the absolute block in [base-1, highest], or null for stale/future ACKs. */
function absoluteAck(s: SessionState, wire: number): number | null {
  const low = s.base - 1;
  const abs = low + ((wire - (low % TFTP_LIMITS.BLOCK_MODULO) + TFTP_LIMITS.BLOCK_MODULO) % TFTP_LIMITS.BLOCK_MODULO);
  return abs <= s.highest ? abs : null;
}

function applyHint(d: Draft, hint: number | undefined): void {
  if (d.cfg.msftWindow && hint !== undefined && hint > 0) d.window = Math.min(hint, d.cfg.windowMax);
}

function onAck(s: SessionState, ev: { block: number; windowHint?: number | undefined }, now: number): Step {
  const actions: SessionAction[] = [];
  if (s.phase === 'oack') {
    if (ev.block !== 0) return { state: s, actions };
    const d: Draft = { ...s };
    if (d.timedBlock === 0) addSample(d, now - d.timedAt);
    d.phase = 'data';
    d.timeouts = 0;
    d.progressAt = now;
    d.timedBlock = -1;
    applyHint(d, ev.windowHint);
    sendWindow(d, 1, now, actions);
    return { state: d, actions };
  }
  const a = absoluteAck(s, ev.block);
  // Stale, future, or a duplicate of the last acknowledged block: nothing to do (never resend on it).
  if (a === null || a < s.base) return { state: s, actions };
  const d: Draft = { ...s };
  if (d.timedBlock > 0 && a >= d.timedBlock) addSample(d, now - d.timedAt);
  // Progress proves the path works: a backed-off timeout returns to the measured one at once, since
  // during loss recovery (resends void samples, Karn) a fresh sample may be long in coming.
  d.base = a + 1;
  d.timeouts = 0;
  d.progressAt = now;
  d.rto = rtoFor(d);
  applyHint(d, ev.windowHint);
  if (d.base > d.totalBlocks) return end(d, 'ok', actions);
  if (a < s.highest && provokedByDuplicate(s, a)) {
    // Blocks after a are in flight: top the window up with new blocks instead of resending them.
    sendRange(d, d.highest + 1, d.base + d.window - 1, false, now, actions);
    return { state: d, actions };
  }
  // Whether a is the window's last block or a gap report inside it, the next window starts at a+1.
  sendWindow(d, d.base, now, actions);
  return { state: d, actions };
}

function onTimeout(s: SessionState, now: number): Step {
  const actions: SessionAction[] = [];
  if (now < s.deadline) return { state: s, actions };
  const d: Draft = { ...s };
  // Give up after `retries` timeouts, but never before retries * maxRto without progress: a client whose
  // only way out is its own timeout (atftp: 5 s) must get the chance to use it.
  if (s.timeouts >= s.cfg.retries && now - s.progressAt >= s.cfg.retries * s.cfg.maxRtoMs) {
    actions.push({ type: 'error', code: TFTP_ERROR.NOT_DEFINED, message: 'timed out waiting for ACK' });
    return end(d, 'timeout', actions);
  }
  // Exponential backoff (RFC 6298 section 5.5), capped by the client's timeout.
  d.timeouts = s.timeouts + 1;
  d.rto = Math.min(s.cfg.maxRtoMs, s.rto * 2);
  if (d.phase === 'oack') {
    actions.push({ type: 'oack' });
    d.timedBlock = -1;
    d.deadline = now + d.rto;
  } else if (s.timeouts === 0) {
    sendWindow(d, d.base, now, actions, true);
  } else {
    // The resent window provoked no ACK: the client may hold all of it (its ACK was lost) and answer a
    // repeated duplicate with silence (atftp sends one extra ACK per run of wrong blocks). New blocks
    // after the window are in order for such a client, and a full window of them earns its ACK.
    sendRange(d, d.base, Math.max(d.highest, d.base + d.window - 1) + d.window, true, now, actions);
  }
  return { state: d, actions };
}

function onStart(s: SessionState, now: number): Step {
  const actions: SessionAction[] = [];
  const d: Draft = { ...s, progressAt: now };
  if (d.phase === 'oack') {
    actions.push({ type: 'oack' });
    d.timedBlock = 0;
    d.timedAt = now;
    d.deadline = now + d.rto;
  } else {
    sendWindow(d, 1, now, actions);
  }
  return { state: d, actions };
}

function onClientError(s: SessionState, code: number): Step {
  // OVMF asks `tsize` only to learn the size and then ends with error 8 after the OACK: a normal end.
  const result: TransferResult = s.phase === 'oack' && code === TFTP_ERROR.OPTION_REFUSED ? 'probe' : 'aborted';
  return end({ ...s }, result, []);
}

/** Advances the transfer by one event. Pure: the input state is never modified. */
export function step(s: SessionState, ev: SessionEvent, now: number): Step {
  if (s.phase === 'done') return { state: s, actions: [] };
  switch (ev.type) {
    case 'start':
      return onStart(s, now);
    case 'ack':
      return onAck(s, ev, now);
    case 'timeout':
      return onTimeout(s, now);
    case 'error':
      return onClientError(s, ev.code);
    case 'abort':
      return end({ ...s }, 'error', [{ type: 'error', code: TFTP_ERROR.NOT_DEFINED, message: ev.message }]);
  }
}
