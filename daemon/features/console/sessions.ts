/**
 * Console sessions: an admin token is exchanged once for a random session id held in an HttpOnly,
 * Secure, SameSite=Strict cookie; the token itself is never kept. Sessions are rows of the store
 * (`console_sessions`), found by the SHA-256 of their id (the id itself is only in the cookie), so a
 * restart keeps them, every appliance of a fleet on the same store honours them, and signing out
 * (deleting the row) ends them everywhere. Each session has its own CSRF token, which the page sends in
 * a header on every change; a cross-site form cannot read it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../../store/db.js';
import { inPlace, type Remote } from '../feature.js';

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
  /** Oldest sessions go first beyond this many (across the store: every appliance's sessions count). */
  maxSessions: number;
}

export const DEFAULT_LIMITS: SessionLimits = { maxAgeMs: 8 * 3600_000, idleMs: 3600_000, maxSessions: 1000 };

/** Sessions are found by the digest of their id: the store never holds an id a stolen copy could replay. */
const digest = (id: string): string => createHash('sha256').update(id).digest('hex');

export interface SessionRow { actor: string; read_only: number; csrf: string; created_at: number | string; last_used: number | string; expires_at: number | string }

/**
 * The `console_sessions` rows, and nothing else: on the shared store these statements run on the
 * service host's thread (a slow database delays a console request, never the doors).
 */
export class SessionRows {
  private readonly s;

  constructor(store: Store) {
    const db = store.db;
    this.s = {
      get: db.prepare('SELECT actor, read_only, csrf, created_at, last_used, expires_at FROM console_sessions WHERE digest = ?'),
      insert: db.prepare('INSERT INTO console_sessions (digest, actor, read_only, csrf, created_at, last_used, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      touch: db.prepare('UPDATE console_sessions SET last_used = ? WHERE digest = ? AND last_used < ?'),
      del: db.prepare('DELETE FROM console_sessions WHERE digest = ?'),
      sweep: db.prepare('DELETE FROM console_sessions WHERE expires_at <= ? OR last_used <= ?'),
      live: db.prepare('SELECT COUNT(*) AS n FROM console_sessions WHERE expires_at > ? AND last_used > ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM console_sessions'),
      oldest: db.prepare('DELETE FROM console_sessions WHERE digest IN (SELECT digest FROM console_sessions ORDER BY created_at LIMIT ?)'),
    };
  }

  /** Sessions used after `idleSince` and not expired at `t`. */
  live(t: number, idleSince: number): number {
    return Number((this.s.live.get(t, idleSince) as { n: number | string }).n);
  }

  /** Drops the ended sessions and the oldest beyond `max - 1`, then adds this one. */
  add(key: string, s: Omit<Session, 'id'>, t: number, idleSince: number, max: number): void {
    this.s.sweep.run(t, idleSince);
    const n = Number((this.s.count.get() as { n: number | string }).n);
    if (n >= max) this.s.oldest.run(n - max + 1);
    this.s.insert.run(key, s.actor, s.readOnly ? 1 : 0, s.csrf, s.createdAt, s.lastUsed, s.expiresAt);
  }

  get(key: string): SessionRow | undefined {
    return (this.s.get.get(key) ?? undefined) as SessionRow | undefined;
  }

  touch(key: string, t: number): void {
    this.s.touch.run(t, key, t);
  }

  delete(key: string): boolean {
    return this.s.del.run(key).changes > 0;
  }
}

export class SessionStore {
  private readonly endWatchers = new Map<string, Set<() => void>>();
  private readonly rows: Remote<SessionRows>;
  /** A session's last use is written at most this often (a page polls every few seconds). */
  private readonly touchEveryMs: number;
  private lastCreated = 0;

  /** `rows`: where the statements run (the service host's thread on the shared store); else in place on `store`. */
  constructor(store: Store, private readonly now: () => number = Date.now, readonly limits: SessionLimits = DEFAULT_LIMITS, rows?: Remote<SessionRows>) {
    this.touchEveryMs = Math.min(60_000, Math.floor(limits.idleMs / 60));
    this.rows = rows ?? inPlace(new SessionRows(store));
  }

  /** Live sessions (every appliance's, on a shared store). */
  size(): Promise<number> {
    const t = this.now();
    return this.rows.live(t, t - this.limits.idleMs);
  }

  async create(actor: string, readOnly: boolean): Promise<Session> {
    const t = this.now();
    // Strictly increasing within this process, so "the oldest" is never a tie.
    const createdAt = Math.max(t, this.lastCreated + 1);
    this.lastCreated = createdAt;
    const s: Session = {
      id: randomBytes(32).toString('base64url'), actor, readOnly, csrf: randomBytes(32).toString('base64url'),
      createdAt, lastUsed: t, expiresAt: t + this.limits.maxAgeMs,
    };
    const { id: _id, ...row } = s;
    await this.rows.add(digest(s.id), row, t, t - this.limits.idleMs, this.limits.maxSessions);
    return s;
  }

  /** The live session with this id (and marks it used), or undefined when unknown, expired, idle too long or signed out anywhere. */
  async get(id: string | undefined): Promise<Session | undefined> {
    if (id === undefined || id === '' || id.length > 256) return undefined;
    const key = digest(id);
    const row = await this.rows.get(key);
    if (!row) return undefined;
    const s: Session = {
      id, actor: row.actor, readOnly: Number(row.read_only) === 1, csrf: row.csrf,
      createdAt: Number(row.created_at), lastUsed: Number(row.last_used), expiresAt: Number(row.expires_at),
    };
    const t = this.now();
    if (t >= s.expiresAt || t - s.lastUsed >= this.limits.idleMs) {
      await this.rows.delete(key);
      return undefined;
    }
    if (t - s.lastUsed >= this.touchEveryMs) {
      await this.rows.touch(key, t);
      s.lastUsed = t;
    }
    return s;
  }

  /** Ends the session everywhere (its row goes) and this process's streams of it at once. */
  async revoke(id: string): Promise<boolean> {
    const key = digest(id);
    const watchers = this.endWatchers.get(key);
    this.endWatchers.delete(key);
    for (const fn of watchers ?? []) fn();
    return this.rows.delete(key);
  }

  /**
   * Calls `fn` when the session is revoked through this process (its live streams end at once; a
   * sign-out on another appliance ends them at their next heartbeat, which finds the session gone).
   * Returns the unwatch.
   */
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
