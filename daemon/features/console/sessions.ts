/**
 * Console sessions: an admin token is exchanged once for a random session id held in an HttpOnly,
 * Secure, SameSite=Strict cookie; the token itself is never kept. Sessions live in this process
 * only, so signing out (or a restart) revokes them for certain. Each session has its own CSRF token,
 * which the page sends in a header on every change; a cross-site form cannot read it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'bootgate_console';
export const CSRF_HEADER = 'x-csrf-token';

export interface Session {
  id: string;
  /** `console:<token id>`, the same id the API's audit events use for that token. */
  actor: string;
  readOnly: boolean;
  csrf: string;
  createdAt: number;
  lastUsed: number;
  expiresAt: number;
}

export interface SessionLimits {
  /** A session ends this long after sign-in, used or not. */
  maxAgeMs: number;
  /** ... or this long after its last request. */
  idleMs: number;
  /** Oldest sessions go first beyond this many. */
  maxSessions: number;
}

export const DEFAULT_LIMITS: SessionLimits = { maxAgeMs: 8 * 3600_000, idleMs: 3600_000, maxSessions: 1000 };

/** Sessions are found by the digest of their id, so a timing difference in the map lookup tells nothing. */
const digest = (id: string): string => createHash('sha256').update(id).digest('hex');

export class SessionStore {
  private readonly byDigest = new Map<string, Session>();
  private readonly endWatchers = new Map<string, Set<() => void>>();

  constructor(private readonly now: () => number = Date.now, readonly limits: SessionLimits = DEFAULT_LIMITS) {}

  get size(): number {
    this.sweep();
    return this.byDigest.size;
  }

  create(actor: string, readOnly: boolean): Session {
    this.sweep();
    while (this.byDigest.size >= this.limits.maxSessions) this.byDigest.delete(this.byDigest.keys().next().value as string);
    const t = this.now();
    const s: Session = {
      id: randomBytes(32).toString('base64url'), actor, readOnly, csrf: randomBytes(32).toString('base64url'),
      createdAt: t, lastUsed: t, expiresAt: t + this.limits.maxAgeMs,
    };
    this.byDigest.set(digest(s.id), s);
    return s;
  }

  /** The live session with this id (and marks it used), or undefined when unknown, expired or idle too long. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id === '') return undefined;
    const key = digest(id);
    const s = this.byDigest.get(key);
    if (!s) return undefined;
    const t = this.now();
    if (t >= s.expiresAt || t - s.lastUsed >= this.limits.idleMs) {
      this.byDigest.delete(key);
      return undefined;
    }
    s.lastUsed = t;
    return s;
  }

  revoke(id: string): boolean {
    const key = digest(id);
    const gone = this.byDigest.delete(key);
    const watchers = this.endWatchers.get(key);
    this.endWatchers.delete(key);
    for (const fn of watchers ?? []) fn();
    return gone;
  }

  /** Calls `fn` when the session is revoked (its live streams end at once); returns the unwatch. */
  onRevoke(id: string, fn: () => void): () => void {
    const key = digest(id);
    let set = this.endWatchers.get(key);
    if (!set) this.endWatchers.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.endWatchers.get(key) === set) this.endWatchers.delete(key);
    };
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, s] of this.byDigest) if (t >= s.expiresAt || t - s.lastUsed >= this.limits.idleMs) this.byDigest.delete(k);
  }
}

/** Constant-time check of the CSRF header against the session's token. */
export function csrfMatches(session: Session, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The session cookie for `path`; `maxAgeS` 0 clears it. */
export function sessionCookie(id: string, path: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${id}; Path=${path}; Max-Age=${maxAgeS}; HttpOnly; Secure; SameSite=Strict`;
}

/** The session id from a Cookie header, if any. */
export function sessionIdFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A sign-in or session refusal: 401 (no or bad session/token), 403 (CSRF, read-only), 429 (lockout). */
export class ConsoleRefusal extends Error {
  constructor(readonly status: 401 | 403 | 429, readonly code: string, message: string, readonly retryAfterS?: number) {
    super(message);
    this.name = 'ConsoleRefusal';
  }
}
