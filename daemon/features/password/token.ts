/**
 * Signed, short-lived, per-client file URLs. After an unlock, the profile's script fetches its files
 * through `<base>/_signed/<token>/<path>`; the token binds the client's MAC and IP, the profile, the path
 * prefixes it may read and an expiry, under an HMAC-SHA256 (RFC 2104) with a key only this daemon holds.
 * Pure apart from the HMAC: the clock is the caller's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CONFIG_NAME_PATTERN } from '../../config/schema.js';

export interface UrlGrant {
  /** Canonical `52:54:00:ab:cd:ef`. */
  mac: string;
  ip: string;
  profile: string;
  /** Lower-case path prefixes under the boot root this token opens (the profile's `password.files`). */
  prefixes: string[];
  /** Milliseconds since the epoch; the token carries whole seconds (rounded down). */
  expiresAt: number;
}

export type TokenCheck =
  | { ok: true; grant: UrlGrant }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'wrong-client' };

const VERSION = '1';
/** Domain separation: this key signs nothing else, but a version tag keeps old tokens from parsing as new ones. */
const CONTEXT = 'bootgate-url-v1|';
const SIG_CHARS = 43; // 32 bytes of HMAC-SHA256 in unpadded base64url
const TOKEN = /^([A-Za-z0-9_-]{8,1024})\.([A-Za-z0-9_-]{43})$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
/** A profile name as the config allows it. */
const PROFILE = new RegExp(CONFIG_NAME_PATTERN);
/** The config schema's `password.files` pattern allows none of the separators used here. */
const PREFIX = /^[a-z0-9_~+./-]+$/;

function sign(payload: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(payload).digest();
}

export function signGrant(grant: UrlGrant, key: Buffer): string {
  if (!MAC.test(grant.mac) || !IPV4.test(grant.ip) || !PROFILE.test(grant.profile)) {
    throw new TypeError('signGrant: the MAC, IP or profile is not in canonical form');
  }
  if (grant.prefixes.some((p) => !PREFIX.test(p))) throw new TypeError('signGrant: a path prefix has characters a token cannot carry');
  const fields = [VERSION, grant.mac, grant.ip, String(Math.floor(grant.expiresAt / 1000)), grant.profile, grant.prefixes.join(',')];
  const payload = Buffer.from(fields.join('|'), 'utf8').toString('base64url');
  const sig = sign(payload, key).toString('base64url');
  return `${payload}.${sig}`;
}

function parsePayload(payload: string): UrlGrant | null {
  const fields = Buffer.from(payload, 'base64url').toString('utf8').split('|');
  if (fields.length !== 6) return null;
  const [version, mac, ip, exp, profile, prefixes] = fields as [string, string, string, string, string, string];
  if (version !== VERSION || !MAC.test(mac) || !IPV4.test(ip) || !/^\d{1,12}$/.test(exp) || !PROFILE.test(profile)) return null;
  const list = prefixes === '' ? [] : prefixes.split(',');
  if (list.some((p) => !PREFIX.test(p))) return null;
  return { mac, ip, profile, prefixes: list, expiresAt: Number(exp) * 1000 };
}

/**
 * Checks the signature first (constant-time), then expiry, then that the request comes from the IP the
 * token was issued to. Never throws.
 */
export function verifyGrant(token: string, key: Buffer, now: number, clientIp: string): TokenCheck {
  const m = TOKEN.exec(token);
  if (!m?.[1] || !m[2] || m[2].length !== SIG_CHARS) return { ok: false, reason: 'malformed' };
  // Compared as text: base64 ignores the unused low bits of the last character, so comparing decoded
  // bytes would accept several spellings of one signature.
  const given = Buffer.from(m[2], 'latin1');
  const expected = Buffer.from(sign(m[1], key).toString('base64url'), 'latin1');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  const grant = parsePayload(m[1]);
  if (!grant) return { ok: false, reason: 'malformed' };
  if (grant.expiresAt <= now) return { ok: false, reason: 'expired' };
  if (grant.ip !== clientIp) return { ok: false, reason: 'wrong-client' };
  return { ok: true, grant };
}
