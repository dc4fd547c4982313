/**
 * What an admin does with boot passwords, as functions on the store: set or clear a password (global or a
 * profile's own), lift a lockout, see the state. The admin API and the CLI both call these. Errors are
 * AdminError (the admin API's error shape); no result, error or audit event contains a password or a hash.
 */
import { isIPv4 } from 'node:net';
import type { BootgateConfig } from '../../config/schema.js';
import { AdminError } from '../../http/admin/errors.js';
import { normalizeMac } from '../../policy/identity.js';
import { auditEvent, type AuditEventInput } from '../../store/audit.js';
import type { Store } from '../../store/db.js';
import { DEFAULT_SCRYPT, hashPassword, passwordProblem, type ScryptParams } from './hash.js';
import { afterFailure, lockedFor, startedLockout, triesLeft, type LockoutPolicy } from './lockout.js';
import { isGated, profilePassword } from '../../policy/password.js';
import { PasswordRepo, scopeName, type ClientKey, type PasswordScope, type StoredHash } from './store.js';
import { defineService } from '../feature.js';

export interface PasswordSetDto {
  set: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface ProfilePasswordDto {
  name: string;
  mode: 'inherit' | 'required' | 'none';
  gated: boolean;
  /** Which password a gated profile asks for: its own, the global one, or none set (nobody can unlock it). */
  uses: 'profile' | 'global' | 'none-set' | 'not-gated';
  own: PasswordSetDto;
  files: string[];
}

export interface LockoutDto {
  client: string;
  by: 'mac' | 'ip';
  failures: number;
  locked: boolean;
  lockedUntil: string | null;
  lastFailureAt: string;
}

export interface PasswordStatusDto {
  required: boolean;
  maxFailures: number;
  lockoutMinutes: number;
  unlockMinutes: number;
  global: PasswordSetDto;
  profiles: ProfilePasswordDto[];
  lockouts: LockoutDto[];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function setDto(h: StoredHash | undefined): PasswordSetDto {
  return { set: h !== undefined, updatedAt: iso(h?.updatedAt ?? null), updatedBy: h?.updatedBy ?? null };
}

/** A client given as a MAC (any usual form) or an IPv4 address, as a lockout key. */
export function clientKey(text: string): ClientKey | null {
  const mac = normalizeMac(text);
  if (mac) return `mac:${mac}`;
  const ip = text.trim();
  return isIPv4(ip) ? `ip:${ip}` : null;
}

export class PasswordAdmin {
  readonly repo: PasswordRepo;

  constructor(
    private readonly store: Store,
    private readonly cfg: () => BootgateConfig,
    private readonly now: () => number = Date.now,
    private readonly scrypt: ScryptParams = DEFAULT_SCRYPT,
  ) {
    this.repo = new PasswordRepo(store.db);
  }

  private scope(profile: string | null | undefined): PasswordScope {
    if (profile === null || profile === undefined) return { kind: 'global' };
    if (!this.cfg().profiles[profile]) {
      const known = Object.keys(this.cfg().profiles).join(', ') || 'none configured';
      throw new AdminError(404, 'ERR_NOT_FOUND', `no profile ${JSON.stringify(profile)} (known: ${known})`);
    }
    return { kind: 'profile', profile };
  }

  private audit(actor: string, detail: string, mac: string | null = null, ip: string | null = null, profile: string | null = null): void {
    this.store.audit.insert(auditEvent({ at: this.now(), type: 'admin', actor, detail, mac, ip, profile }));
  }

  /** Hashes and stores a password (replacing the previous one); the password itself goes nowhere else. */
  async set(profile: string | null | undefined, password: unknown, actor: string): Promise<PasswordSetDto> {
    const scope = this.scope(profile);
    const problem = passwordProblem(password);
    if (problem) throw new AdminError(400, 'ERR_VALIDATION', problem);
    const hash = await hashPassword(password as string, this.scrypt);
    const at = this.now();
    this.store.durable(() => {
      this.repo.setHash(scope, hash, at, actor);
      this.audit(actor, `${scopeName(scope)} set`, null, null, scope.kind === 'profile' ? scope.profile : null);
    });
    return setDto(this.repo.hash(scope));
  }

  /** Removes a password; a gated profile without its own password then asks for the global one. */
  clear(profile: string | null | undefined, actor: string): void {
    const scope = this.scope(profile);
    const removed = this.store.durable(() => {
      const gone = this.repo.deleteHash(scope);
      if (gone) this.audit(actor, `${scopeName(scope)} cleared`, null, null, scope.kind === 'profile' ? scope.profile : null);
      return gone;
    });
    if (!removed) throw new AdminError(404, 'ERR_NOT_FOUND', `${scopeName(scope)} is not set`);
  }

  /** Forgets the wrong-password count of a MAC or an IP, ending its lockout at once. */
  lift(client: string, actor: string): LockoutDto {
    const key = clientKey(client);
    if (!key) throw new AdminError(400, 'ERR_VALIDATION', `expected a MAC address or an IPv4 address, found ${JSON.stringify(client.slice(0, 40))}`);
    const row = this.repo.failure(key);
    if (!row) throw new AdminError(404, 'ERR_NOT_FOUND', `no wrong passwords recorded for ${key.slice(key.indexOf(':') + 1)}`);
    const [by, value] = [key.startsWith('mac:') ? 'mac' : 'ip', key.slice(key.indexOf(':') + 1)] as const;
    this.store.durable(() => {
      this.repo.deleteFailure(key);
      const was = lockedFor(row, this.now()) > 0 ? 'lockout lifted' : 'wrong-password count cleared';
      this.audit(actor, `password ${was} for ${by} ${value} (${row.failures} failures)`, by === 'mac' ? value : null, by === 'ip' ? value : null);
    });
    return this.lockoutDto(key, row);
  }

  private lockoutDto(key: ClientKey, row: { failures: number; lockedUntil: number | null; lastAt: number }): LockoutDto {
    const by = key.startsWith('mac:') ? 'mac' : 'ip';
    const locked = row.lockedUntil !== null && row.lockedUntil > this.now();
    return { client: key.slice(key.indexOf(':') + 1), by, failures: row.failures, locked, lockedUntil: locked ? iso(row.lockedUntil) : null, lastFailureAt: iso(row.lastAt) ?? '' };
  }

  status(): PasswordStatusDto {
    const cfg = this.cfg();
    const global = this.repo.hash({ kind: 'global' });
    const profiles = Object.entries(cfg.profiles).map(([name, p]): ProfilePasswordDto => {
      const own = this.repo.hash({ kind: 'profile', profile: name });
      const gated = isGated(p, cfg.password.required);
      const uses = !gated ? 'not-gated' : own ? 'profile' : global ? 'global' : 'none-set';
      const pw = profilePassword(p);
      return { name, mode: pw.mode, gated, uses, own: setDto(own), files: [...pw.files] };
    });
    const lockoutMs = cfg.password.lockoutMinutes * 60_000;
    const t = this.now();
    // Rows that count for nothing any more (quiet long enough, lockout over) are not shown.
    const lockouts = this.repo.failureRows()
      .filter((r) => (r.lockedUntil !== null ? r.lockedUntil > t : t - r.lastAt < lockoutMs))
      .map((r) => this.lockoutDto(r.key, r));
    return {
      required: cfg.password.required,
      maxFailures: cfg.password.maxFailures,
      lockoutMinutes: cfg.password.lockoutMinutes,
      unlockMinutes: cfg.password.unlockMinutes,
      global: setDto(global),
      profiles,
      lockouts,
    };
  }
}

/** The admin API's PasswordAdmin (on the service host's thread with the shared store). */
export const passwordService = defineService('password', (c) => new PasswordAdmin(c.store, c.config, c.now));

/**
 * The password gate's work on the store: lockouts read and written, the stored hash fetched, attempts
 * audited. On the shared store it runs on the service host's thread, so a boot password typed while
 * the database is slow delays that machine's answer only.
 */
export class PasswordChecks {
  private readonly repo: PasswordRepo;

  constructor(private readonly store: Store) {
    this.repo = new PasswordRepo(store.db);
  }

  /** The first of `keys` locked out at `now`, and for how long; null when none is. */
  locked(keys: Array<[ClientKey, 'mac' | 'ip']>, now: number): { waitMs: number; by: 'mac' | 'ip' } | null {
    for (const [key, by] of keys) {
      const waitMs = lockedFor(this.repo.failure(key), now);
      if (waitMs > 0) return { waitMs, by };
    }
    return null;
  }

  /** The profile's own hash, else the global one. */
  hashFor(profile: string): StoredHash | null {
    return this.repo.hash({ kind: 'profile', profile }) ?? this.repo.hash({ kind: 'global' }) ?? null;
  }

  /** A right password: the clients' wrong tries are forgotten. */
  succeeded(keys: ClientKey[]): void {
    this.store.tx(() => {
      for (const k of keys) this.repo.deleteFailure(k);
    });
  }

  /** A wrong password, counted against each key in one transaction: which keys it locked out, tries left, the MAC's failures. */
  failed(keys: Array<[ClientKey, 'mac' | 'ip']>, t: number, policy: LockoutPolicy): { started: Array<'mac' | 'ip'>; left: number; failures: number } {
    const started: Array<'mac' | 'ip'> = [];
    let left = policy.maxFailures;
    let failures = 0;
    this.store.tx(() => {
      for (const [key, by] of keys) {
        const before = this.repo.failure(key);
        const after = afterFailure(before, t, policy);
        this.repo.setFailure(key, after);
        if (startedLockout(before, after, t)) started.push(by);
        left = Math.min(left, triesLeft(after, t, policy));
        if (by === 'mac') failures = after.failures;
      }
      this.repo.deleteStale(t - policy.lockoutMs, t);
    });
    return { started, left, failures };
  }

  audit(e: AuditEventInput): void {
    this.store.audit.insert(e);
  }
}

/** The password gate's store work (on the service host's thread with the shared store). */
export const passwordChecksService = defineService('password-checks', (c) => new PasswordChecks(c.store));
