/**
 * Option negotiation for a read request (RFC 2347 with 2348, 2349, 7440 and Microsoft's msftwindow).
 * Pure: the request's options and the server's limits in, the transfer parameters and the OACK out.
 */
import { MSFT_WINDOW, TFTP_LIMITS, TFTP_OPTION } from '../protocol/tftp/codec.js';

export interface NegotiationLimits {
  /** config.tftp.blockSizeMax: a larger request is answered with this (RFC 2348 lets the server lower it). */
  blockSizeMax: number;
  /** config.tftp.windowSizeMax. */
  windowSizeMax: number;
  /** config.tftp.inflightBytesMax: window * blksize never exceeds it, so a client's receive buffer is not overrun. */
  inflightBytesMax: number;
  /** config.tftp.timeoutMs: the retransmission ceiling when the client names no timeout. */
  timeoutMs: number;
}

export interface TransferParams {
  blksize: number;
  /** Blocks per window; 1 is RFC 1350 lockstep. */
  windowSize: number;
  /** The largest window a variable-window (msftwindow) client may ask for later. */
  windowMax: number;
  /** ACKs carry the client's next window size (Microsoft variable window). */
  msftWindow: boolean;
  /** Retransmission ceiling in ms: the client's RFC 2349 timeout, else the configured one. */
  timeoutMs: number;
  /** The OACK to send first, or null for a plain RFC 1350 transfer (DATA 1 at once). */
  oack: Record<string, string> | null;
}

export type Negotiation =
  | { ok: true; params: TransferParams }
  | { ok: false; message: string };

function decimal(value: string): number | null {
  return /^[0-9]{1,10}$/.test(value.trim()) ? Number(value.trim()) : null;
}

/** The window that keeps `window * blksize` within the in-flight budget (at least 1). */
export function clampWindow(requested: number, blksize: number, limits: NegotiationLimits): number {
  const byBudget = Math.max(1, Math.floor(limits.inflightBytesMax / blksize));
  return Math.max(1, Math.min(requested, limits.windowSizeMax, byBudget));
}

/**
 * Negotiates the known options of an RRQ. Unknown options are left out of the OACK (RFC 2347). A known
 * option whose value is not a number, or out of its RFC range on the low side, refuses the request
 * (the caller answers error 8); values above our limits are lowered, as RFC 2348 and 7440 allow.
 */
export function negotiate(options: Record<string, string>, size: number, limits: NegotiationLimits): Negotiation {
  const oack: Record<string, string> = {};
  let blksize: number = TFTP_LIMITS.DEFAULT_BLKSIZE;
  let windowSize = 1;
  let timeoutMs = limits.timeoutMs;
  let msftWindow = false;

  const bs = options[TFTP_OPTION.BLKSIZE];
  if (bs !== undefined) {
    const v = decimal(bs);
    if (v === null || v < TFTP_LIMITS.BLKSIZE_MIN) return { ok: false, message: `blksize "${bs.slice(0, 16)}" refused (8-65464)` };
    blksize = Math.min(v, TFTP_LIMITS.BLKSIZE_MAX, limits.blockSizeMax);
    oack[TFTP_OPTION.BLKSIZE] = String(blksize);
  }
  const ts = options[TFTP_OPTION.TSIZE];
  if (ts !== undefined) {
    // RFC 2349: the client sends 0 in an RRQ; whatever it sent, the answer is the size we will send.
    if (decimal(ts) === null) return { ok: false, message: `tsize "${ts.slice(0, 16)}" refused` };
    oack[TFTP_OPTION.TSIZE] = String(size);
  }
  const to = options[TFTP_OPTION.TIMEOUT];
  if (to !== undefined) {
    const v = decimal(to);
    if (v === null || v < TFTP_LIMITS.TIMEOUT_MIN_S || v > TFTP_LIMITS.TIMEOUT_MAX_S) {
      return { ok: false, message: `timeout "${to.slice(0, 16)}" refused (1-255)` };
    }
    timeoutMs = v * 1000;
    oack[TFTP_OPTION.TIMEOUT] = String(v);
  }
  const ws = options[TFTP_OPTION.WINDOWSIZE];
  if (ws !== undefined) {
    const v = decimal(ws);
    if (v === null || v < TFTP_LIMITS.WINDOWSIZE_MIN) return { ok: false, message: `windowsize "${ws.slice(0, 16)}" refused (1-65535)` };
    windowSize = clampWindow(Math.min(v, TFTP_LIMITS.WINDOWSIZE_MAX), blksize, limits);
    oack[TFTP_OPTION.WINDOWSIZE] = String(windowSize);
  }
  const mw = options[TFTP_OPTION.MSFTWINDOW];
  if (mw !== undefined && mw.trim() === MSFT_WINDOW.CLIENT_MAGIC) {
    // Only the magic pair switches the variable window on; any other value is an option we ignore.
    msftWindow = true;
    oack[TFTP_OPTION.MSFTWINDOW] = MSFT_WINDOW.SERVER_MAGIC;
  }
  const windowMax = clampWindow(TFTP_LIMITS.WINDOWSIZE_MAX, blksize, limits);
  return {
    ok: true,
    params: { blksize, windowSize, windowMax, msftWindow, timeoutMs, oack: Object.keys(oack).length > 0 ? oack : null },
  };
}
