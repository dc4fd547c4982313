/**
 * Everything an admin can do, as plain functions on the store: the admin API calls them, and the CLI
 * calls them directly when no daemon runs. Errors are AdminError with an HTTP status and exact problems;
 * every change leaves an audit event naming who made it (never a token).
 */
import type { BootgateConfig, DeploymentKind } from '../../config/schema.js';
import { normalizeGuid, normalizeMac, swapGuid } from '../../policy/identity.js';
import { auditEvent, type AuditType } from '../../store/audit.js';
import { setBootOnce } from '../../store/boot-once.js';
import type { ComputerRecord } from '../../store/computers.js';
import type { Store } from '../../store/db.js';
import type { DeviceStatus } from '../../store/devices.js';
import { effectiveSettings, type RuntimeSettings, type SettingKey } from '../../store/settings.js';
import {
  computerDto, deviceDto, eventDto, profileDto,
  type ComputerDto, type DeviceDto, type EventDto, type ImportResult, type ProfileDto, type SettingsDto,
} from './dto.js';
import { applyImport, capProblems, planImport, type ImportOptions } from './import.js';
import { parseComputers, type ImportFormat } from './parse.js';
import { checkComputer, NAME_PATTERN, type RawComputer } from './validate.js';

export type AdminErrorCode = 'ERR_VALIDATION' | 'ERR_IMPORT' | 'ERR_NOT_FOUND' | 'ERR_CONFLICT';

export class AdminError extends Error {
  constructor(readonly status: 400 | 404 | 409, readonly code: AdminErrorCode, message: string, readonly problems: string[] = []) {
    super(message);
    this.name = 'AdminError';
  }
}

/** Who and what an admin audit event names besides its actor and detail. */
export interface AdminAuditExtra {
  mac?: string | null;
  computer?: string | null;
  profile?: string | null;
}

/** Records an admin change in the audit trail (inventory and rollout services alike). */
export function auditAdmin(store: Store, at: number, actor: string, detail: string, extra: AdminAuditExtra = {}): void {
  store.audit.insert(auditEvent({ at, type: 'admin', actor, detail, ...extra }));
}

/** A computer by name, any of its MACs, or its SMBIOS GUID (either byte order); a 404 AdminError when none. */
export function findComputer(store: Store, ref: string): ComputerRecord {
  const mac = normalizeMac(ref);
  const guid = mac === null ? normalizeGuid(ref) : null;
  const c = mac !== null ? store.computers.byMac(mac)
    : guid !== null ? store.computers.byGuid(guid) ?? store.computers.byGuid(swapGuid(guid))
    : store.computers.byName(ref);
  if (!c) throw new AdminError(404, 'ERR_NOT_FOUND', `no computer ${JSON.stringify(ref)} (looked up by ${mac ? 'MAC' : guid ? 'SMBIOS GUID' : 'name'})`);
  return c;
}

export interface ApproveOptions {
  name?: string;
  profile?: string;
  kind?: DeploymentKind;
  notes?: string;
}

export interface EventFilter {
  mac?: string;
  type?: AuditType;
  since?: number;
  until?: number;
  beforeId?: number;
  limit?: number;
}

export type SettingsPatch = { [K in SettingKey]?: RuntimeSettings[K] | null };

export class AdminService {
  constructor(
    private readonly store: Store,
    private readonly cfg: () => BootgateConfig,
    private readonly now: () => number = Date.now,
  ) {}

  private audit(actor: string, detail: string, extra: AdminAuditExtra = {}): void {
    auditAdmin(this.store, this.now(), actor, detail, extra);
  }

  private find(ref: string): ComputerRecord {
    return findComputer(this.store, ref);
  }

  private dto(c: ComputerRecord): ComputerDto {
    return computerDto(c, this.cfg());
  }

  listComputers(filter: { profile?: string } = {}): ComputerDto[] {
    return this.store.computers.all().filter((c) => filter.profile === undefined || c.profile === filter.profile).map((c) => this.dto(c));
  }

  getComputer(ref: string): ComputerDto {
    return this.dto(this.find(ref));
  }

  /** Creates one computer, or replaces the computer `replace` names (PUT). */
  saveComputer(raw: RawComputer, actor: string, replace?: string): ComputerDto {
    const old = replace === undefined ? null : this.find(replace);
    const parsed = { rows: [{ where: 'body', raw }], problems: [], ignoredColumns: [] };
    const opts = old ? { replaceId: old.id, auditDetail: `computer replaced (was ${old.name})` } : { auditDetail: 'computer created' };
    const { plan, problems } = planImport(this.store, this.cfg(), parsed, opts);
    const row = plan[0];
    if (problems.length > 0 || !row) {
      const conflict = problems.length > 0 && problems.every((p) => / already (exists|belongs)/.test(p));
      throw new AdminError(conflict ? 409 : 400, conflict ? 'ERR_CONFLICT' : 'ERR_VALIDATION', problems[0] ?? 'no computer given', problems);
    }
    applyImport(this.store, [row], this.now(), actor, opts);
    return this.getComputer(row.input.name);
  }

  deleteComputer(ref: string, actor: string): void {
    const c = this.find(ref);
    this.store.durable(() => {
      this.store.computers.delete(c.id);
      this.audit(actor, 'computer deleted', { computer: c.name, mac: c.macs[0] ?? null, profile: c.profile });
    });
    this.store.notify('inventory');
  }

  importComputers(text: string, format: ImportFormat, opts: ImportOptions, actor: string): ImportResult {
    if (opts.defaultProfile && !Object.hasOwn(this.cfg().profiles, opts.defaultProfile)) {
      throw new AdminError(400, 'ERR_VALIDATION', `default profile ${JSON.stringify(opts.defaultProfile)} is not in the configuration`);
    }
    const parsed = parseComputers(text, format);
    const { plan, problems } = planImport(this.store, this.cfg(), parsed, opts);
    if (problems.length > 0) {
      throw new AdminError(400, 'ERR_IMPORT', `import refused, nothing was imported: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, capProblems(problems));
    }
    const result = applyImport(this.store, plan, this.now(), actor, opts);
    return { ...result, ignoredColumns: parsed.ignoredColumns };
  }

  listDevices(status?: DeviceStatus): DeviceDto[] {
    return this.store.devices.list(status).map(deviceDto);
  }

  private device(mac: string) {
    const m = normalizeMac(mac);
    if (m === null) throw new AdminError(400, 'ERR_VALIDATION', `${JSON.stringify(mac)} is not a MAC address`);
    const d = this.store.devices.get(m);
    if (!d) throw new AdminError(404, 'ERR_NOT_FOUND', `no pending or rejected device ${m}`);
    return d;
  }

  /** Turns a pending (or rejected) device into a known computer; it boots on its next try. */
  approve(mac: string, opts: ApproveOptions, actor: string): ComputerDto {
    const d = this.device(mac);
    const cfg = this.cfg();
    const name = opts.name ?? `pc-${d.mac.replace(/:/g, '')}`;
    if (!NAME_PATTERN.test(name)) throw new AdminError(400, 'ERR_VALIDATION', `name ${JSON.stringify(name)} is not a valid computer name`);
    const clash = d.guid === null ? undefined : this.store.computers.byGuid(d.guid) ?? this.store.computers.byGuid(swapGuid(d.guid));
    const raw: RawComputer = {
      name, macs: [d.mac], guid: clash ? null : d.guid, profile: opts.profile ?? cfg.policy.unknown.profile, kind: opts.kind, notes: opts.notes,
    };
    const c = checkComputer(raw, cfg.profiles);
    if (!c.ok) throw new AdminError(400, 'ERR_VALIDATION', c.problems[0] ?? 'invalid', c.problems);
    if (this.store.computers.byName(name)) throw new AdminError(409, 'ERR_CONFLICT', `computer ${JSON.stringify(name)} already exists`);
    this.store.durable(() => {
      this.store.computers.insert(c.value, this.now());
      this.store.devices.delete(d.mac);
      this.audit(actor, `approved as ${name}`, { mac: d.mac, computer: name, profile: c.value.profile });
    });
    this.store.notify('inventory');
    this.store.notify('devices');
    return this.getComputer(name);
  }

  reject(mac: string, actor: string): DeviceDto {
    const d = this.device(mac);
    this.store.durable(() => {
      this.store.devices.setStatus(d.mac, 'rejected', this.now(), actor);
      this.audit(actor, 'rejected', { mac: d.mac });
    });
    this.store.notify('devices');
    return deviceDto(this.device(d.mac));
  }

  /** Forgets a device (pending or rejected): if it knocks again it is pending again. */
  forgetDevice(mac: string, actor: string): void {
    const d = this.device(mac);
    this.store.durable(() => {
      this.store.devices.delete(d.mac);
      this.audit(actor, `forgotten (was ${d.status})`, { mac: d.mac });
    });
    this.store.notify('devices');
  }

  /** Configuration Manager's "clear required PXE deployments": the computer network-boots again. */
  clearBootOnce(ref: string, actor: string): ComputerDto {
    const c = this.find(ref);
    if (c.bootOnceConsumedAt !== null) setBootOnce(this.store, { computer: c, consumed: false, by: actor, actor, now: this.now() });
    return this.getComputer(c.name);
  }

  /** The deployment reports it finished: a required deployment falls through to the local disk from now on. */
  deploymentDone(ref: string, actor: string): ComputerDto {
    const c = this.find(ref);
    if (c.bootOnceConsumedAt === null) setBootOnce(this.store, { computer: c, consumed: true, by: 'reported done', actor, now: this.now() });
    return this.getComputer(c.name);
  }

  profiles(): ProfileDto[] {
    return Object.entries(this.cfg().profiles).map(([n, p]) => profileDto(n, p));
  }

  profile(name: string): ProfileDto {
    const p = this.cfg().profiles[name];
    if (!p || !Object.hasOwn(this.cfg().profiles, name)) throw new AdminError(404, 'ERR_NOT_FOUND', `no profile ${JSON.stringify(name)}`);
    return profileDto(name, p);
  }

  events(f: EventFilter): EventDto[] {
    let mac: string | undefined;
    if (f.mac !== undefined) {
      const m = normalizeMac(f.mac);
      if (m === null) throw new AdminError(400, 'ERR_VALIDATION', `${JSON.stringify(f.mac)} is not a MAC address`);
      mac = m;
    }
    return this.store.audit.query({ ...f, mac, limit: Math.min(Math.max(f.limit ?? 100, 1), 1000) }).map(eventDto);
  }

  settings(): SettingsDto {
    const s = this.cfg().server;
    const config = { answering: s.answering, responseDelaySeconds: s.responseDelaySeconds, interfaces: [...s.interfaces] };
    const overrides = this.store.settings.overrides();
    return { effective: effectiveSettings(config, overrides), overrides, config };
  }

  /** Sets run-time switches; `null` removes an override (back to the config's value). */
  updateSettings(patch: SettingsPatch, actor: string): SettingsDto {
    const problems = checkSettingsPatch(patch);
    if (problems.length > 0) throw new AdminError(400, 'ERR_VALIDATION', problems[0] ?? 'invalid', problems);
    this.store.durable(() => {
      for (const [k, v] of Object.entries(patch) as Array<[SettingKey, unknown]>) {
        if (v === null) this.store.settings.clear(k);
        else if (v !== undefined) this.store.settings.set(k, v, this.now());
      }
      this.audit(actor, `settings: ${JSON.stringify(patch)}`);
    });
    this.store.notify('settings');
    return this.settings();
  }
}

/** The same rules as the API's JSON schema, for the CLI's direct path. */
export function checkSettingsPatch(patch: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined) continue;
    if (k === 'answering') { if (typeof v !== 'boolean') problems.push(`answering must be true or false, found ${JSON.stringify(v)}`); }
    else if (k === 'responseDelaySeconds') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 60) problems.push(`responseDelaySeconds must be a whole number from 0 to 60, found ${JSON.stringify(v)}`);
    } else if (k === 'interfaces') {
      if (!Array.isArray(v) || v.length > 64 || !v.every((i) => typeof i === 'string' && /^[A-Za-z0-9._@-]{1,15}$/.test(i))) {
        problems.push(`interfaces must be a list of interface names (1 to 15 characters each), found ${JSON.stringify(v)}`);
      }
    } else problems.push(`unknown setting ${JSON.stringify(k)} (known: answering, responseDelaySeconds, interfaces)`);
  }
  return problems;
}
