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

/** RFC 6298 section 2 smoothing; the clock granularity term is 1 ms (Node timers). */
function withSample(s: SessionState, sample: number): SessionState {
  const r = Math.max(0, sample);
  const srtt = s.srtt === null ? r : 0.875 * s.srtt + 0.125 * r;
  const rttvar = s.srtt === null ? r / 2 : 0.75 * s.rttvar + 0.25 * Math.abs(s.srtt - r);
  const next = { ...s, srtt, rttvar };
  return { ...next, rto: rtoFor(next) };
}

function end(s: SessionState, result: TransferResult, actions: SessionAction[]): Step {
  actions.push({ type: 'end', result });
  return { state: { ...s, phase: 'done', result, deadline: Infinity, timedBlock: -1 }, actions };
}

/** Sends blocks from..to (clipped to the file) and arms the timer. */
function sendRange(s: SessionState, from: number, to0: number, rto: boolean, now: number, actions: SessionAction[]): SessionState {
  const to = Math.min(to0, s.totalBlocks);
  if (to < from) return s;
  const resent = Math.max(0, Math.min(to, s.highest) - from + 1);
  actions.push({ type: 'data', from, to, resent });
  let bytes = 0;
  for (let b = Math.max(from, s.highest + 1); b <= to; b++) bytes += blockLength(s.cfg.size, s.cfg.blksize, b);
  // Karn's rule: only a block sent once gives a round-trip sample; a resend of the timed block voids it.
  let { timedBlock, timedAt } = s;
  if (timedBlock >= from && timedBlock <= to) timedBlock = -1;
  if (timedBlock < 0 && to > s.highest) {
    timedBlock = to;
    timedAt = now;
  }
  // Bursts wholly acknowledged are forgotten, so the list stays a few entries long.
  const bursts = [...s.bursts.filter((b) => b.to >= s.base), { from, to, rto, resentTo: from + resent - 1 }];
  return {
    ...s,
    highest: Math.max(s.highest, to),
    bursts,
    bytesSent: s.bytesSent + bytes,
    retransmits: s.retransmits + resent,
    timedBlock,
    timedAt,
    deadline: now + s.rto,
  };
}

/** The window from `base`: new blocks, or (after a gap or a timeout) the lost ones again. */
function sendWindow(s: SessionState, from: number, now: number, actions: SessionAction[], rto = false): SessionState {
  return sendRange(s, from, from + s.window - 1, rto, now, actions);
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

/** The timeout for the measured round trip (RFC 6298 section 2.3). */
function rtoFor(s: SessionState): number {
  if (s.srtt === null) return s.cfg.maxRtoMs;
  return Math.min(s.cfg.maxRtoMs, Math.max(s.cfg.minRtoMs, s.srtt + Math.max(1, 4 * s.rttvar)));
}

/** Maps a 16-bit ACK number to the absolute block in [base-1, highest], or null for stale/future ACKs. */
function absoluteAck(s: SessionState, wire: number): number | null {
  const low = s.base - 1;
  const abs = low + ((wire - (low % TFTP_LIMITS.BLOCK_MODULO) + TFTP_LIMITS.BLOCK_MODULO) % TFTP_LIMITS.BLOCK_MODULO);
  return abs <= s.highest ? abs : null;
}

function onAck(s: SessionState, ev: { block: number; windowHint?: number | undefined }, now: number): Step {
  const actions: SessionAction[] = [];
  if (s.phase === 'oack') {
    if (ev.block !== 0) return { state: s, actions };
    let st: SessionState = s.timedBlock === 0 ? withSample(s, now - s.timedAt) : s;
    st = { ...st, phase: 'data', timeouts: 0, progressAt: now, timedBlock: -1 };
    if (st.cfg.msftWindow && ev.windowHint !== undefined && ev.windowHint > 0) {
      st = { ...st, window: Math.min(ev.windowHint, st.cfg.windowMax) };
    }
    return { state: sendWindow(st, 1, now, actions), actions };
  }
  if (s.phase !== 'data') return { state: s, actions };
  const a = absoluteAck(s, ev.block);
  // Stale, future, or a duplicate of the last acknowledged block: nothing to do (never resend on it).
  if (a === null || a < s.base) return { state: s, actions };
  let st: SessionState = s;
  if (st.timedBlock > 0 && a >= st.timedBlock) st = { ...withSample(st, now - st.timedAt), timedBlock: -1 };
  // Progress proves the path works: a backed-off timeout returns to the measured one at once, since
  // during loss recovery (resends void samples, Karn) a fresh sample may be long in coming.
  st = { ...st, base: a + 1, timeouts: 0, progressAt: now, rto: rtoFor(st) };
  if (st.cfg.msftWindow && ev.windowHint !== undefined && ev.windowHint > 0) {
    st = { ...st, window: Math.min(ev.windowHint, st.cfg.windowMax) };
  }
  if (st.base > st.totalBlocks) return end(st, 'ok', actions);
  if (a < s.highest && provokedByDuplicate(s, a)) {
    // Blocks after a are in flight: top the window up with new blocks instead of resending them.
    const topped = sendRange(st, st.highest + 1, st.base + st.window - 1, false, now, actions);
    return { state: topped === st ? { ...st, deadline: now + st.rto } : topped, actions };
  }
  // Whether a is the window's last block or a gap report inside it, the next window starts at a+1.
  return { state: sendWindow(st, st.base, now, actions), actions };
}

function onTimeout(s: SessionState, now: number): Step {
  const actions: SessionAction[] = [];
  if (s.phase === 'done' || now < s.deadline) return { state: s, actions };
  // Give up after `retries` timeouts, but never before retries * maxRto without progress: a client whose
  // only way out is its own timeout (atftp: 5 s) must get the chance to use it.
  if (s.timeouts >= s.cfg.retries && now - s.progressAt >= s.cfg.retries * s.cfg.maxRtoMs) {
    actions.push({ type: 'error', code: TFTP_ERROR.NOT_DEFINED, message: 'timed out waiting for ACK' });
    return end(s, 'timeout', actions);
  }
  // Exponential backoff (RFC 6298 section 5.5), capped by the client's timeout.
  const st: SessionState = { ...s, timeouts: s.timeouts + 1, rto: Math.min(s.cfg.maxRtoMs, s.rto * 2) };
  if (st.phase === 'oack') {
    actions.push({ type: 'oack' });
    return { state: { ...st, timedBlock: -1, deadline: now + st.rto }, actions };
  }
  if (s.timeouts === 0) return { state: sendWindow(st, st.base, now, actions, true), actions };
  // The resent window provoked no ACK: the client may hold all of it (its ACK was lost) and answer a
  // repeated duplicate with silence (atftp sends one extra ACK per run of wrong blocks). New blocks
  // after the window are in order for such a client, and a full window of them earns its ACK.
  return { state: sendRange(st, st.base, Math.max(st.highest, st.base + st.window - 1) + st.window, true, now, actions), actions };
}

function onStart(s: SessionState, now: number): Step {
  const actions: SessionAction[] = [];
  if (s.phase === 'oack') {
    actions.push({ type: 'oack' });
    return { state: { ...s, timedBlock: 0, timedAt: now, progressAt: now, deadline: now + s.rto }, actions };
  }
  return { state: sendWindow({ ...s, progressAt: now }, 1, now, actions), actions };
}

function onClientError(s: SessionState, code: number): Step {
  // OVMF asks `tsize` only to learn the size and then ends with error 8 after the OACK: a normal end.
  const result: TransferResult = s.phase === 'oack' && code === TFTP_ERROR.OPTION_REFUSED ? 'probe' : 'aborted';
  return end(s, result, []);
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
      return end(s, 'error', [{ type: 'error', code: TFTP_ERROR.NOT_DEFINED, message: ev.message }]);
  }
}
