/**
 * What the console does, on the same services the admin API and the CLI use (inventory, events), so a
 * change made in the page is the same change, validated the same way and audited the same way, as
 * one made with `curl` or `bootgate`: sign-in with an admin token, the pending queue, the computers
 * page (search, sort, page on the server), the CSV import with a preview, the audit list and the live
 * boot feed.
 */
import type { BootgateConfig, DeploymentKind } from '../../config/schema.js';
import type { FailureLimiter, TokenStore } from '../../http/admin/auth.js';
import { swapGuid } from '../../policy/identity.js';
import type { Store } from '../../store/db.js';
import { auditAdmin, EventsService, type EventDto, type EventFilter } from '../events/service.js';
import { computerDto, type ComputerDto, type DeviceDto } from '../inventory/dto.js';
import { applyImport, capProblems, planImport } from '../inventory/import.js';
import { parseComputers } from '../inventory/parse.js';
import { InventoryService } from '../inventory/service.js';
import { AdminError } from '../../http/admin/errors.js';
import { PasswordAdmin, type LockoutDto, type PasswordSetDto, type PasswordStatusDto } from '../password/service.js';
import { AppliancesService, type ApplianceDto } from '../appliances/service.js';
import { RolloutService } from '../rollout/service.js';
import type { RolloutStatus } from '../rollout/status.js';
import { RolloutRepo } from '../rollout/store.js';
import { SettingsService, type SettingsDto, type SettingsPatch } from '../settings/service.js';
import type { BootFeed, MachineView } from './live.js';
import { ConsoleRefusal, type Session, type SessionStore } from './sessions.js';
import { ConsoleStore } from './store.js';
import { OuiVendors } from './oui.js';
import type { Logger } from '../../log.js';
import { defineService, type Remote } from '../feature.js';
import type { RawComputer } from '../inventory/validate.js';
import { SessionRows } from './sessions.js';

export interface PendingRow extends DeviceDto {
  /** The GUID as the machine's firmware setup and SMBIOS tools print it (first three fields little-endian). */
  guidFirmware: string | null;
  appliance: string;
  /** The MAC's vendor from the IEEE registry (admin.ouiFile); null without one. */
  vendor: string | null;
}

export interface ComputersQuery {
  q?: string;
  sort: 'name' | 'profile' | 'updated';
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export interface ImportPreview {
  rows: number;
  problems: string[];
  ignoredColumns: string[];
  /** Every line with a problem (not capped like `problems`): what "skip these" would leave out. */
  badLines: number[];
  /** Rows that would be imported if the bad lines were skipped. */
  goodRows: number;
  /** False when a problem is about the file itself (header, syntax): then no row can be skipped. */
  skippable: boolean;
}

/** Audit text names at most this many skipped lines, then counts the rest. */
const SKIPPED_NAMED = 50;

/** Lines the problems name (`line 7: ...`), and the problems that name none (about the whole file). */
function problemLines(problems: readonly string[]): { lines: number[]; general: string[] } {
  const lines = new Set<number>();
  const general: string[] = [];
  for (const p of problems) {
    const m = /^line (\d+): /.exec(p);
    if (m) lines.add(Number(m[1]));
    else general.push(p);
  }
  return { lines: [...lines].sort((a, b) => a - b), general };
}

const lineOf = (where: string): number => Number(/^line (\d+)$/.exec(where)?.[1] ?? -1);

export interface ApproveInput {
  name?: string;
  profile?: string;
  kind?: DeploymentKind;
}

/**
 * The console's work on the store: its pages' reads and the changes it makes, through the same services
 * the admin API uses. On the shared store it runs on the service host's thread.
 */
export class ConsoleData {
  readonly inventory: InventoryService;
  private readonly events: EventsService;
  private readonly queries: ConsoleStore;
  private readonly switches: SettingsService;
  /** Boot passwords and lockouts: the password feature's own service, so the audit and checks are the API's. */
  readonly passwords: PasswordAdmin;
  /** Rollout schedules, halts and resumes: the rollout feature's own service (its change reaches the live gate through the store). */
  readonly rollouts: RolloutService;
  /** This appliance's name (server.name, else the host name), as its heartbeat and its audit events carry it. */
  readonly appliance: string;
  /** The fleet's heartbeats: the appliances feature's own service. */
  readonly fleet: AppliancesService;
  /** MAC vendors from the IEEE registry, read on first use. */
  readonly vendors: OuiVendors;

  constructor(
    private readonly store: Store,
    private readonly cfg: () => BootgateConfig,
    private readonly now: () => number = Date.now,
    logger?: Logger,
  ) {
    this.inventory = new InventoryService(store, cfg, now);
    this.events = new EventsService(store);
    this.queries = new ConsoleStore(store);
    this.switches = new SettingsService(store, cfg, now);
    this.passwords = new PasswordAdmin(store, cfg, now);
    this.rollouts = new RolloutService(RolloutRepo.open(store), cfg, { now });
    this.fleet = new AppliancesService(store, now);
    this.appliance = store.serverName;
    this.vendors = new OuiVendors(() => this.cfg().admin.ouiFile, logger);
  }

  /** A reloaded configuration may name another registry file: read it again on the next look-up. */
  resetVendors(): void {
    this.vendors.reset();
  }

  /** One of the console's own audit events (sign-in, sign-out). */
  note(actor: string, detail: string): void {
    auditAdmin(this.store, this.now(), actor, detail);
  }

  profiles(): Array<{ name: string; description: string; kind: DeploymentKind }> {
    return Object.entries(this.cfg().profiles).map(([name, p]) => ({ name, description: p.description, kind: p.kind }));
  }

  async pending(status: 'pending' | 'rejected' | 'all' = 'pending'): Promise<PendingRow[]> {
    await this.vendors.loaded();
    return this.inventory.listDevices(status === 'all' ? undefined : status).map((d) => ({
      ...d, guidFirmware: d.guid === null ? null : swapGuid(d.guid), appliance: d.seenBy ?? this.appliance, vendor: this.vendors.vendorOf(d.mac),
    }));
  }

  approve(mac: string, input: ApproveInput, actor: string): ComputerDto {
    return this.inventory.approve(mac, input, actor);
  }

  reject(mac: string, actor: string): DeviceDto {
    return this.inventory.reject(mac, actor);
  }

  /** Approves or rejects several devices; each one's outcome is reported, one failure does not stop the rest. */
  bulk(action: 'approve' | 'reject', macs: string[], input: ApproveInput, actor: string): Array<{ mac: string; ok: boolean; error?: string }> {
    return macs.map((mac) => {
      try {
        if (action === 'approve') this.inventory.approve(mac, { profile: input.profile, kind: input.kind }, actor);
        else this.inventory.reject(mac, actor);
        return { mac, ok: true };
      } catch (err) {
        return { mac, ok: false, error: (err as Error).message };
      }
    });
  }

  async computers(q: ComputersQuery): Promise<{ total: number; computers: Array<ComputerDto & { vendor: string | null }> }> {
    await this.vendors.loaded();
    const { ids, total } = this.queries.computerPage({ text: q.q?.trim() ?? '', sort: q.sort, order: q.order, offset: q.offset, limit: q.limit });
    const cfg = this.cfg();
    const computers = ids.map((id) => this.store.computers.byId(id)).filter((c) => c !== undefined)
      .map((c) => ({ ...computerDto(c, cfg), vendor: c.macs[0] === undefined ? null : this.vendors.vendorOf(c.macs[0]) }));
    return { total, computers };
  }

  /** Every row's problem, nothing written. */
  previewImport(text: string, defaultProfile: string | null): ImportPreview {
    if (defaultProfile && !Object.hasOwn(this.cfg().profiles, defaultProfile)) {
      return { rows: 0, problems: [`default profile ${JSON.stringify(defaultProfile)} is not in the configuration`], ignoredColumns: [], badLines: [], goodRows: 0, skippable: false };
    }
    const parsed = parseComputers(text, 'csv');
    const { plan, problems } = planImport(this.store, this.cfg(), parsed, { defaultProfile });
    const { lines, general } = problemLines(problems);
    const bad = new Set(lines);
    const goodRows = parsed.rows.filter((r) => !bad.has(lineOf(r.where))).length;
    return {
      rows: plan.length, problems: capProblems(problems), ignoredColumns: parsed.ignoredColumns,
      badLines: lines, goodRows, skippable: problems.length > 0 && general.length === 0 && goodRows > 0,
    };
  }

  /**
   * Imports the rows without problems and skips the lines `skip` names, after checking the file again:
   * the lines with problems must be exactly those the admin saw and chose to skip, else nothing is
   * written (the file or the inventory changed since the preview). One transaction; the audit event
   * names the skipped lines.
   */
  importSkipping(text: string, defaultProfile: string | null, skip: number[], actor: string) {
    if (defaultProfile && !Object.hasOwn(this.cfg().profiles, defaultProfile)) {
      throw new AdminError(400, 'ERR_VALIDATION', `default profile ${JSON.stringify(defaultProfile)} is not in the configuration`);
    }
    const parsed = parseComputers(text, 'csv');
    const first = planImport(this.store, this.cfg(), parsed, { defaultProfile });
    const { lines, general } = problemLines(first.problems);
    if (general.length > 0) {
      throw new AdminError(400, 'ERR_IMPORT', `import refused, nothing was imported: ${general.length} problem${general.length === 1 ? ' is' : 's are'} about the file, not one row`, capProblems(general));
    }
    const asked = [...new Set(skip)].sort((a, b) => a - b);
    if (asked.join(',') !== lines.join(',')) {
      throw new AdminError(409, 'ERR_CONFLICT', `nothing was imported: the lines with problems are now ${lines.length ? lines.join(', ') : 'none'}, not the ${asked.join(', ') || 'none'} asked to skip; preview the file again`);
    }
    const bad = new Set(lines);
    const good = parsed.rows.filter((r) => !bad.has(lineOf(r.where)));
    if (good.length === 0) throw new AdminError(400, 'ERR_IMPORT', 'nothing was imported: every row has a problem');
    const second = planImport(this.store, this.cfg(), { ...parsed, rows: good, problems: [] }, { defaultProfile });
    if (second.problems.length > 0 || second.plan.length !== good.length) {
      throw new AdminError(400, 'ERR_IMPORT', `import refused, nothing was imported: ${second.problems.length} problem${second.problems.length === 1 ? '' : 's'} in the remaining rows`, capProblems(second.problems));
    }
    const named = lines.slice(0, SKIPPED_NAMED).join(', ') + (lines.length > SKIPPED_NAMED ? ` and ${lines.length - SKIPPED_NAMED} more` : '');
    const detail = `import: ${second.plan.length} created, skipped ${lines.length} row${lines.length === 1 ? '' : 's'} with problems (line${lines.length === 1 ? '' : 's'} ${named})`;
    const result = applyImport(this.store, second.plan, this.now(), actor, { defaultProfile, auditDetail: detail });
    return { ...result, ignoredColumns: parsed.ignoredColumns, skippedLines: lines };
  }

  importCsv(text: string, defaultProfile: string | null, actor: string) {
    return this.inventory.importComputers(text, 'csv', { defaultProfile }, actor);
  }

  /** The run-time switches, and what unknown machines get (from the configuration, shown, not changed here). */
  settings(): SettingsDto & { unknown: { action: string; profile: string | null } } {
    const u = this.cfg().policy.unknown;
    return { ...this.switches.settings(), unknown: { action: u.action, profile: u.profile ?? null } };
  }

  /** Every rollout's schedule table, with the maintenance windows its groups keep and what tomorrow admits. */
  rolloutView(): { rollouts: (RolloutStatus & { tomorrow: number; windows: { name: string; schedule: string; timeZone: string; groups: string[] }[] })[] } {
    const windows = Object.entries(this.cfg().maintenanceWindows ?? {}).map(([name, w]) => ({ name, schedule: w.schedule, timeZone: w.timeZone, groups: [...w.groups] }));
    return {
      rollouts: this.rollouts.statuses().map((r) => {
        const groups = new Set(r.groups.map((g) => g.group));
        return { ...r, tomorrow: r.totals.find((d) => d.day === r.today + 1)?.planned ?? 0, windows: windows.filter((w) => w.groups.some((g) => groups.has(g))) };
      }),
    };
  }

  /** Which passwords are set (never a password or a hash) and the current lockouts. */
  passwordStatus(): PasswordStatusDto {
    return this.passwords.status();
  }

  /** Sets a profile's own password (or the global one for a null profile) once both typings agree. */
  async setPassword(profile: string | null, password: unknown, confirm: unknown, actor: string): Promise<PasswordSetDto> {
    if (password !== confirm) throw new AdminError(400, 'ERR_VALIDATION', 'the two passwords differ: type the same password twice');
    return this.passwords.set(profile, password, actor);
  }

  updateSettings(patch: SettingsPatch, actor: string) {
    this.switches.updateSettings(patch, actor);
    return this.settings();
  }

  audit(f: EventFilter): EventDto[] {
    return this.events.events(f);
  }

  listComputers(): ComputerDto[] {
    return this.inventory.listComputers();
  }

  saveComputer(raw: RawComputer, actor: string, ref: string): ComputerDto {
    return this.inventory.saveComputer(raw, actor, ref);
  }

  deleteComputer(ref: string, actor: string): void {
    this.inventory.deleteComputer(ref, actor);
  }

  clearBootOnce(ref: string, actor: string): ComputerDto {
    return this.inventory.clearBootOnce(ref, actor);
  }

  halt(profile: string, group: string, actor: string, reason?: string): RolloutStatus {
    return this.rollouts.halt(profile, group, actor, reason);
  }

  resume(profile: string, group: string, actor: string): RolloutStatus {
    return this.rollouts.resume(profile, group, actor);
  }

  appliances(): ApplianceDto[] {
    return this.fleet.list();
  }

  clearPassword(profile: string | null, actor: string): void {
    this.passwords.clear(profile, actor);
  }

  liftLockout(client: string, actor: string): LockoutDto {
    return this.passwords.lift(client, actor);
  }
}

/** The console's work on the store (on the service host's thread with the shared store). */
export const consoleDataService = defineService('console-data', (c) => new ConsoleData(c.store, c.config, c.now, c.logger));

/**
 * What the console does on this appliance itself: sign-in against this appliance's admin tokens (with the
 * API's lockout per address), sessions, and the live boot feed; everything on the store goes to `data`.
 */
export class ConsoleService {
  /** This appliance's name (server.name, else the host name), as its heartbeat and its audit events carry it. */
  readonly appliance: string;

  constructor(
    readonly data: Remote<ConsoleData>,
    store: Store,
    private readonly tokens: TokenStore,
    private readonly limiter: FailureLimiter,
    private readonly sessions: SessionStore,
    readonly feed: BootFeed,
  ) {
    this.appliance = store.serverName;
  }

  /** Exchanges an admin token for a session; refused (429) after repeated failures from one address, as the API does. */
  async signIn(token: string, ip: string): Promise<Session> {
    const wait = this.limiter.blockedFor(ip);
    if (wait > 0) {
      const secs = Math.ceil(wait / 1000);
      throw new ConsoleRefusal(429, 'ERR_AUTH_LIMIT', `too many failed sign-ins from ${ip}; try again in ${secs} s`, secs);
    }
    const info = this.tokens.lookup(token.trim());
    if (!info) {
      this.limiter.fail(ip);
      throw new ConsoleRefusal(401, 'ERR_AUTH', 'this token is not an admin token of this appliance');
    }
    const session = await this.sessions.create(info.actor.replace(/^api:/, 'console:'), info.readOnly);
    await this.data.note(session.actor, `console sign-in from ${ip}${info.readOnly ? ' (read-only)' : ''}`);
    return session;
  }

  async signOut(session: Session): Promise<void> {
    if (await this.sessions.revoke(session.id)) await this.data.note(session.actor, 'console sign-out');
  }

  machines(): MachineView[] {
    return this.feed.machinesView();
  }
}

/** The live feed's reads of the audit trail (on the service host's thread with the shared store). */
export const consoleAuditService = defineService('console-audit', (c) => new ConsoleStore(c.store));

/** The console's session rows (on the service host's thread with the shared store). */
export const consoleSessionsService = defineService('console-sessions', (c) => new SessionRows(c.store));
