/**
 * The inventory: known computers (CRUD, CSV/YAML import, boot-once done/clear) and unknown devices
 * waiting for approval, as plain functions on the store. The admin API calls them, and the CLI calls
 * them directly when no daemon runs. Errors are AdminError with an HTTP status and exact problems;
 * every change leaves an audit event naming who made it (never a token).
 */
import type { BootgateConfig, DeploymentKind } from '../../config/schema.js';
import { normalizeGuid, normalizeMac, swapGuid } from '../../policy/identity.js';
import { setBootOnce } from '../../store/boot-once.js';
import type { ComputerRecord } from '../../store/computers.js';
import type { Store } from '../../store/db.js';
import type { DeviceStatus } from '../../store/devices.js';
import { AdminError } from '../../http/admin/errors.js';
import { auditAdmin, type AdminAuditExtra } from '../events/service.js';
import { computerDto, deviceDto, type ComputerDto, type DeviceDto, type ImportResult } from './dto.js';
import { applyImport, capProblems, planImport, type ImportOptions } from './import.js';
import { parseComputers, type ImportFormat } from './parse.js';
import { checkComputer, NAME_PATTERN, type RawComputer } from './validate.js';
import { defineService } from '../feature.js';

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

/** Large supplier sheets: 100,000 rows of a few columns fit well under this (the API's import body limit). */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;

export class InventoryService {
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
}

/** The admin API's InventoryService (on the service host's thread with the shared store). */
export const inventoryService = defineService('inventory', (c) => new InventoryService(c.store, c.config, c.now));
