/**
 * The running password gate: checks a typed password (lockouts per MAC and per IP, scrypt, constant-time),
 * records unlocks, signs file URLs for the unlocked client's script, and tells the file doors whether a
 * gated file may go to a client. Every attempt, lockout and refused file is counted and audited; no log
 * line, metric or audit event carries a password, a hash or a token.
 */
import { randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import type { BootgateConfig } from '../../config/schema.js';
import { resolveInRoot } from '../../files/root.js';
import { rateLimited, type Logger } from '../../log.js';
import type { ClientInfo, Decision } from '../../policy/types.js';
import { auditEvent, type AuditEventInput } from '../../store/audit.js';
import type { Store } from '../../store/db.js';
import { comparablePath, gatedFiles, profilesGating, splitSignedPath, underPrefixes, type GatedFiles } from './files.js';
import { verifyPassword } from './hash.js';
import type { LockoutPolicy } from './lockout.js';
import type { FileRefusal, PasswordMetrics } from './metrics.js';
import type { ClientKey } from './store.js';
import { PasswordChecks } from './service.js';
import { inPlace, type Remote } from '../feature.js';
import { scriptForGate, type ScriptGate, type ScriptVars } from './script-gate.js';
import { verifyGrant } from './token.js';
import { UnlockRegistry, type Unlock } from './unlocks.js';

export interface PasswordGateOptions {
  store: Store;
  config: () => BootgateConfig;
  logger: Logger;
  metrics: PasswordMetrics;
  now?: () => number;
  /** The client directory's IP -> MAC binding (4011 exchange, DHCP, script fetches). */
  macOfIp?: (ip: string) => string | undefined;
  /** HMAC key for signed URLs; random per daemon by default (a restart ends every unlock anyway). */
  key?: Buffer;
  /** scrypt checks running at once; more are answered "busy" so a flood cannot tie up libuv's threads. */
  maxConcurrentChecks?: number;
  /** Where the store work runs (the service host's thread on the shared store); in place on `store` without. */
  checks?: Remote<PasswordChecks>;
}

export type AttemptOutcome =
  | { result: 'ok'; unlock: Unlock }
  /** `retryAfterMs`: set when this failure locked the client out (the lockout's length). */
  | { result: 'wrong'; triesLeft: number; lockedOut: boolean; retryAfterMs?: number }
  | { result: 'locked'; retryAfterMs: number; by: 'mac' | 'ip' }
  | { result: 'no-password' }
  | { result: 'busy' };

export interface AttemptRequest {
  mac: string;
  ip: string;
  profile: string;
  computer: string | null;
  password: string;
  /** Where the password arrived: iPXE posts it over HTTP; GRUB's form asks by TFTP (or HTTP). */
  door?: 'tftp' | 'http';
}

export interface FileRequest {
  door: 'tftp' | 'http';
  clientIp: string;
  /** The path as requested (a signed one included), relative or with leading separators. */
  path: string;
}

export type FileGate =
  | { kind: 'allow'; path: string }
  | { kind: 'refuse'; reason: FileRefusal; message: string };

export class PasswordGate {
  readonly unlocks: UnlockRegistry;
  private readonly checks: Remote<PasswordChecks>;
  private readonly now: () => number;
  private readonly key: Buffer;
  private readonly log: Logger;
  private inflight = 0;
  private gatedCache: { cfg: BootgateConfig; gated: GatedFiles } | null = null;
  private readonly auditRefusal: ReturnType<typeof rateLimited>;
  private readonly auditLocked: ReturnType<typeof rateLimited>;

  constructor(private readonly o: PasswordGateOptions) {
    this.now = o.now ?? Date.now;
    this.key = o.key ?? randomBytes(32);
    this.log = o.logger.child({ area: 'password' });
    this.checks = o.checks ?? inPlace(new PasswordChecks(o.store));
    this.unlocks = new UnlockRegistry(this.now);
    o.metrics.countUnlocksWith(() => this.unlocks.list().length);
    // Refusals and locked-out attempts can be provoked at will: audited at a bounded rate, always counted.
    this.auditRefusal = rateLimited(60_000, 30, this.now);
    this.auditLocked = rateLimited(60_000, 30, this.now);
  }

  private policy(): LockoutPolicy {
    const p = this.o.config().password;
    return { maxFailures: p.maxFailures, lockoutMs: p.lockoutMinutes * 60_000 };
  }

  private gated(): GatedFiles {
    const cfg = this.o.config();
    if (this.gatedCache?.cfg !== cfg) this.gatedCache = { cfg, gated: gatedFiles(cfg) };
    return this.gatedCache.gated;
  }

  private audit(e: Partial<AuditEventInput>): void {
    this.checks.audit(auditEvent({ at: this.now(), type: 'password', ...e }))
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'password audit event could not be written'));
  }

  /** Checks a typed password for `profile`; see AttemptOutcome. Never throws for bad input. */
  async attempt(req: AttemptRequest): Promise<AttemptOutcome> {
    const keys: Array<[ClientKey, 'mac' | 'ip']> = [[`mac:${req.mac}`, 'mac'], [`ip:${req.ip}`, 'ip']];
    const base = { mac: req.mac, ip: req.ip, profile: req.profile, computer: req.computer, door: req.door ?? 'http' };
    const lock = await this.checks.locked(keys, this.now());
    if (lock) {
      const { waitMs: wait, by } = lock;
      this.o.metrics.attempts.inc({ result: 'locked' });
      this.auditLocked(() => this.audit({ ...base, decision: 'refused', reason: 'locked-out', detail: `${by} locked for ${Math.ceil(wait / 1000)} s more` }));
      this.log.warn({ mac: req.mac, client: req.ip, profile: req.profile, by }, 'password attempt during a lockout refused');
      return { result: 'locked', retryAfterMs: wait, by };
    }
    const stored = await this.checks.hashFor(req.profile);
    if (!stored) {
      this.o.metrics.attempts.inc({ result: 'no-password' });
      this.audit({ ...base, decision: 'refused', reason: 'no-password-set' });
      this.log.error({ mac: req.mac, profile: req.profile }, 'profile is password gated but no password is set (bootgate password set)');
      return { result: 'no-password' };
    }
    if (this.inflight >= (this.o.maxConcurrentChecks ?? 2)) {
      this.o.metrics.attempts.inc({ result: 'busy' });
      return { result: 'busy' };
    }
    this.inflight += 1;
    let ok: boolean;
    try {
      ok = await verifyPassword(req.password, stored.hash);
    } finally {
      this.inflight -= 1;
    }
    return ok ? this.succeeded(req, keys.map(([k]) => k)) : this.failed(req, keys);
  }

  private async succeeded(req: AttemptRequest, keys: ClientKey[]): Promise<AttemptOutcome> {
    const ttl = this.o.config().password.unlockMinutes * 60_000;
    const unlock = this.unlocks.grant({ mac: req.mac, ip: req.ip, profile: req.profile }, ttl);
    await this.checks.succeeded(keys);
    this.o.metrics.attempts.inc({ result: 'ok' });
    this.audit({ mac: req.mac, ip: req.ip, profile: req.profile, computer: req.computer, door: req.door ?? 'http', decision: 'unlocked', reason: 'password-ok' });
    this.log.info({ mac: req.mac, client: req.ip, profile: req.profile, until: new Date(unlock.expiresAt).toISOString() }, 'boot password accepted: unlocked');
    return { result: 'ok', unlock };
  }

  private async failed(req: AttemptRequest, keys: Array<[ClientKey, 'mac' | 'ip']>): Promise<AttemptOutcome> {
    const policy = this.policy();
    const { started, left, failures } = await this.checks.failed(keys, this.now(), policy);
    this.o.metrics.attempts.inc({ result: 'wrong' });
    const base = { mac: req.mac, ip: req.ip, profile: req.profile, computer: req.computer, door: req.door ?? 'http' };
    this.audit({ ...base, decision: 'refused', reason: 'wrong-password', detail: `failure ${failures} of ${policy.maxFailures} for this MAC` });
    this.log.warn({ mac: req.mac, client: req.ip, profile: req.profile, failures, triesLeft: left }, 'wrong boot password');
    for (const by of started) {
      this.o.metrics.lockouts.inc({ by });
      this.audit({ ...base, decision: 'locked-out', reason: 'lockout', detail: `${by} locked out for ${policy.lockoutMs / 60_000} minutes after ${policy.maxFailures} wrong passwords` });
      this.log.warn({ mac: req.mac, client: req.ip, by, minutes: policy.lockoutMs / 60_000 }, 'too many wrong boot passwords: locked out');
    }
    const lockedOut = started.length > 0 || left === 0;
    return { result: 'wrong', triesLeft: left, lockedOut, ...(lockedOut ? { retryAfterMs: policy.lockoutMs } : {}) };
  }

  /**
   * Called for every decision (backend.ts): a DHCP request on port 67 from an unlocked MAC means the
   * machine started a new boot, which must be unlocked again.
   */
  observe(client: ClientInfo, _decision: Decision): void {
    if (client.door !== 'dhcp') return;
    if (this.unlocks.revoke(client.mac)) {
      this.log.info({ mac: client.mac }, 'new boot: the password unlock of the previous boot is revoked');
    }
  }

  /** The script door's hook: the prompt, or signed file URLs for an unlocked client (script-gate.ts). */
  script(client: ClientInfo, decision: Decision, vars: ScriptVars): ScriptGate {
    return scriptForGate({ client, decision, vars, cfg: this.o.config(), unlocks: this.unlocks, key: this.key });
  }

  /**
   * May this file go to this client? A signed path (`_signed/<token>/...`) is checked and stripped; a gated
   * file needs a valid token whose unlock is still live (HTTP), or, by TFTP only, a live unlock bound to
   * the requesting IP (second-stage loaders such as bootmgr ask for fixed paths and carry no token).
   */
  async file(req: FileRequest): Promise<FileGate> {
    const signed = splitSignedPath(req.path);
    const gated = this.gated();
    if (!signed && gated.profiles.size === 0) return { kind: 'allow', path: req.path };
    const path = signed ? signed.rest : req.path;
    const gating = await this.gatingProfiles(gated, path);
    const mac = this.o.macOfIp?.(req.clientIp);
    if (signed) {
      const check = verifyGrant(signed.token, this.key, this.now(), req.clientIp);
      if (!check.ok) return this.refuse(req, path, mac, check.reason);
      const g = check.grant;
      const unlock = this.unlocks.active(g.mac);
      if (!unlock || unlock.ip !== req.clientIp || unlock.profile !== g.profile || (mac !== undefined && mac !== g.mac)) {
        return this.refuse(req, path, mac ?? g.mac, 'no-unlock');
      }
      const comparable = comparablePath(this.o.config().root, path);
      if (gating.length > 0 && (comparable === null || !underPrefixes(comparable, g.prefixes))) return this.refuse(req, path, g.mac, 'outside-grant');
      return { kind: 'allow', path };
    }
    if (gating.length === 0) return { kind: 'allow', path };
    const unlock = mac === undefined ? undefined : this.unlocks.active(mac);
    if (req.door === 'tftp' && unlock && unlock.ip === req.clientIp && gating.includes(unlock.profile)) return { kind: 'allow', path };
    return this.refuse(req, path, mac, 'no-unlock');
  }

  /** Gated profiles covering the path as requested and the file it resolves to (a symlink cannot hide one). */
  private async gatingProfiles(gated: GatedFiles, path: string): Promise<string[]> {
    if (gated.profiles.size === 0) return [];
    const root = this.o.config().root;
    const asked = comparablePath(root, path);
    const names = new Set(asked === null ? [] : profilesGating(gated, asked));
    const r = await resolveInRoot(root, path);
    if (r.ok) {
      try {
        const real = relative(await realpath(root), r.abs).split(sep).join('/').toLowerCase();
        for (const n of profilesGating(gated, real)) names.add(n);
      } catch {
        // The root vanished: the door refuses the file anyway.
      }
    }
    return [...names];
  }

  private refuse(req: FileRequest, path: string, mac: string | undefined, reason: FileRefusal): FileGate {
    this.o.metrics.fileRefusals.inc({ door: req.door, reason });
    // The path without its token: a token is a credential, even an expired one.
    const file = path.slice(0, 200);
    this.auditRefusal((suppressed) => {
      this.audit({ mac: mac ?? null, ip: req.clientIp, door: req.door, decision: 'refused', reason: `file-${reason}`, detail: suppressed > 0 ? `${file} (${suppressed} more refusals not recorded)` : file });
      this.log.warn({ mac, client: req.clientIp, door: req.door, file, reason }, 'password-gated file refused');
    });
    return { kind: 'refuse', reason, message: 'Access violation: this file needs the boot password (unlock through iPXE first)' };
  }
}
