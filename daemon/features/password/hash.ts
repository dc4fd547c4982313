/**
 * Password hashes at rest: scrypt (RFC 7914) from node:crypto with a random salt, stored as a PHC-style
 * string that carries its own parameters (`$scrypt$ln=15,r=8,p=1$<salt>$<hash>`), so stronger parameters
 * can come later without invalidating stored hashes. Comparison is constant-time (timingSafeEqual).
 * Nothing here logs, and no error message ever contains a password.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/**
 * 2^15 x 8 x 1: about 32 MiB and some tens of milliseconds per check, the interactive-login setting
 * RFC 7914 section 2 suggests; a person types the password once per boot, an attacker pays per guess.
 */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds a stored string must respect before its parameters are trusted (a hand-edited row cannot make us allocate gigabytes). */
const LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16], salt: [16, 64], key: [16, 64] } as const;

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function scrypt(password: Buffer, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  // Node refuses more than 32 MiB by default; allow what these parameters need (128 * N * r) plus slack.
  const opts: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 128 * N * params.r * 2 + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function within(v: number, [lo, hi]: readonly [number, number]): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** The parts of a stored hash, or null when it is not one this code wrote (or its parameters are out of bounds). */
export function parseHash(stored: string): ParsedHash | null {
  const m = PHC.exec(stored);
  if (!m) return null;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const salt = Buffer.from(m[4] ?? '', 'base64');
  const key = Buffer.from(m[5] ?? '', 'base64');
  if (!within(params.ln, LIMITS.ln) || !within(params.r, LIMITS.r) || !within(params.p, LIMITS.p)) return null;
  if (!within(salt.length, LIMITS.salt) || !within(key.length, LIMITS.key)) return null;
  return { params, salt, key };
}

/** A new salted hash of `password`. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(Buffer.from(password, 'utf8'), salt, KEY_BYTES, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** A hash no password matches: compared against when none is stored, so both cases cost the same time. */
const DUMMY: ParsedHash = { params: DEFAULT_SCRYPT, salt: Buffer.alloc(SALT_BYTES, 0x5a), key: Buffer.alloc(KEY_BYTES, 0) };

/**
 * True when `password` matches `stored`. An unreadable stored value is false, never an exception; the
 * work done is the same whether or not a hash was stored, and the key comparison is constant-time.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored === null ? null : parseHash(stored);
  const h = parsed ?? DUMMY;
  const key = await scrypt(Buffer.from(password, 'utf8'), h.salt, h.key.length, h.params);
  return parsed !== null && timingSafeEqual(key, h.key);
}

/**
 * What a password typed at iPXE's `login` prompt can be: iPXE reads printable ASCII from the keyboard
 * and its login form keeps at most 63 characters (login_ui.c, a 64-byte buffer). Returns a problem
 * sentence that never quotes the password, or null when it is acceptable.
 */
export function passwordProblem(password: unknown, minLength = 6): string | null {
  if (typeof password !== 'string') return 'the password must be a string';
  if (password.length < minLength) return `the password must have at least ${minLength} characters`;
  if (password.length > 63) return 'the password must have at most 63 characters (iPXE\'s login prompt keeps 63)';
  if (!/^[\x20-\x7e]+$/.test(password)) return 'the password may only contain printable ASCII characters (what iPXE reads from a keyboard)';
  if (password.trim() !== password) return 'the password must not start or end with a space';
  return null;
}
