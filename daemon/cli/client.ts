/**
 * How an admin command reaches Bootgate: through the admin API when a daemon runs (`--api URL`,
 * BOOTGATE_API, or found on this host's configured HTTP port), else on the database file directly
 * (`--db`, or the configured store.path). Both sides run the same AdminService, so a command does the
 * same thing either way; a running daemon also notices direct database changes (PRAGMA data_version).
 */
import { readFileSync } from 'node:fs';
import type { BootgateConfig, DeploymentKind } from '../config/schema.js';
import { effectiveConfig } from '../config/defaults.js';
import { loadConfig } from '../config/load.js';
import type { ComputerDto, DeviceDto, EventDto, ImportResult, SettingsDto } from '../features/inventory/dto.js';
import type { ImportFormat } from '../features/inventory/parse.js';
import { AdminError, AdminService, type EventFilter, type SettingsPatch } from '../features/inventory/service.js';
import type { RawComputer } from '../features/inventory/validate.js';
import { openStore } from '../store/db.js';
import { parseTokens } from '../http/admin/auth.js';

export class CliError extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(message);
    this.name = 'CliError';
  }
}

export type DeviceFilter = 'pending' | 'rejected' | 'all';

export interface AdminClient {
  /** Where the command went, for the user: `API http://...` or `database data/bootgate.db`. */
  readonly target: string;
  listComputers(profile?: string): Promise<ComputerDto[]>;
  getComputer(ref: string): Promise<ComputerDto>;
  saveComputer(raw: RawComputer): Promise<ComputerDto>;
  deleteComputer(ref: string): Promise<void>;
  importComputers(text: string, format: ImportFormat, opts: { update: boolean; profile?: string }): Promise<ImportResult>;
  listDevices(filter: DeviceFilter): Promise<DeviceDto[]>;
  approve(mac: string, opts: { name?: string; profile?: string; kind?: DeploymentKind }): Promise<ComputerDto>;
  reject(mac: string): Promise<DeviceDto>;
  forget(mac: string): Promise<void>;
  clearBootOnce(ref: string): Promise<ComputerDto>;
  deploymentDone(ref: string): Promise<ComputerDto>;
  settings(): Promise<SettingsDto>;
  updateSettings(patch: SettingsPatch): Promise<SettingsDto>;
  events(filter: EventFilter): Promise<EventDto[]>;
  close(): void;
}

export interface ConnectionArgs {
  config?: string;
  api?: string;
  token?: string;
  db?: string;
}

export interface CliEnv {
  env: NodeJS.ProcessEnv;
  fetch: typeof fetch;
}

const enc = encodeURIComponent;

class ApiClient implements AdminClient {
  readonly target: string;
  constructor(private readonly base: string, private readonly token: string, private readonly doFetch: typeof fetch) {
    this.target = `API ${base}`;
  }

  private async call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    let res: Response;
    try {
      res = await this.doFetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      const c = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? (err as Error).message;
      throw new CliError(`cannot reach the admin API at ${this.base}: ${cause}`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError(`the admin API answered ${res.status} with something that is not JSON: ${text.slice(0, 80)}`);
    }
    if (!res.ok) {
      const e = json as { message?: string; problems?: string[] };
      throw new CliError(e.message ?? `HTTP ${res.status}`, e.problems && e.problems.length > 1 ? e.problems : []);
    }
    return json as T;
  }

  listComputers = async (profile?: string) => (await this.call<{ computers: ComputerDto[] }>('GET', `/computers${profile ? `?profile=${enc(profile)}` : ''}`)).computers;
  getComputer = (ref: string) => this.call<ComputerDto>('GET', `/computers/${enc(ref)}`);
  saveComputer = (raw: RawComputer) => this.call<ComputerDto>('POST', '/computers', raw);
  deleteComputer = (ref: string) => this.call<void>('DELETE', `/computers/${enc(ref)}`);
  importComputers = (text: string, format: ImportFormat, o: { update: boolean; profile?: string }) =>
    this.call<ImportResult>('POST', `/computers/import?format=${format}&update=${o.update}${o.profile ? `&profile=${enc(o.profile)}` : ''}`, text,
      format === 'csv' ? 'text/csv' : 'application/yaml');
  listDevices = async (f: DeviceFilter) => (await this.call<{ devices: DeviceDto[] }>('GET', `/pending?status=${f}`)).devices;
  approve = (mac: string, o: object) => this.call<ComputerDto>('POST', `/pending/${enc(mac)}/approve`, o);
  reject = (mac: string) => this.call<DeviceDto>('POST', `/pending/${enc(mac)}/reject`);
  forget = (mac: string) => this.call<void>('DELETE', `/pending/${enc(mac)}`);
  clearBootOnce = (ref: string) => this.call<ComputerDto>('POST', `/computers/${enc(ref)}/clear`);
  deploymentDone = (ref: string) => this.call<ComputerDto>('POST', `/computers/${enc(ref)}/done`);
  settings = () => this.call<SettingsDto>('GET', '/settings');
  updateSettings = (patch: SettingsPatch) => this.call<SettingsDto>('PATCH', '/settings', patch);
  events = async (f: EventFilter) => {
    const q = new URLSearchParams();
    if (f.mac) q.set('mac', f.mac);
    if (f.type) q.set('type', f.type);
    if (f.since !== undefined) q.set('since', new Date(f.since).toISOString());
    if (f.until !== undefined) q.set('until', new Date(f.until).toISOString());
    if (f.limit !== undefined) q.set('limit', String(f.limit));
    return (await this.call<{ events: EventDto[] }>('GET', `/events?${q.toString()}`)).events;
  };
  close(): void {}
}

/** Runs the service in this process; AdminErrors become CliErrors with the same text. */
/** Runs a service call for the CLI: the service's errors become CLI errors with their problem lists. */
export async function serviceCall<T>(fn: () => T): Promise<T> {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AdminError) throw new CliError(err.message, err.problems.length > 1 ? err.problems : []);
    throw err;
  }
}

function directClient(path: string, cfg: BootgateConfig): AdminClient {
  const store = openStore(path, { busyTimeoutMs: 10_000 });
  const svc = new AdminService(store, () => cfg);
  const actor = 'cli';
  const run = serviceCall;
  return {
    target: `database ${path}`,
    listComputers: (profile) => run(() => svc.listComputers(profile === undefined ? {} : { profile })),
    getComputer: (ref) => run(() => svc.getComputer(ref)),
    saveComputer: (raw) => run(() => svc.saveComputer(raw, actor)),
    deleteComputer: (ref) => run(() => svc.deleteComputer(ref, actor)),
    importComputers: (text, format, o) => run(() => svc.importComputers(text, format, { update: o.update, defaultProfile: o.profile ?? null }, actor)),
    listDevices: (f) => run(() => svc.listDevices(f === 'all' ? undefined : f)),
    approve: (mac, o) => run(() => svc.approve(mac, o, actor)),
    reject: (mac) => run(() => svc.reject(mac, actor)),
    forget: (mac) => run(() => svc.forgetDevice(mac, actor)),
    clearBootOnce: (ref) => run(() => svc.clearBootOnce(ref, actor)),
    deploymentDone: (ref) => run(() => svc.deploymentDone(ref, actor)),
    settings: () => run(() => svc.settings()),
    updateSettings: (patch) => run(() => svc.updateSettings(patch, actor)),
    events: (f) => run(() => svc.events(f)),
    close: () => store.close(),
  };
}

/** The first read-write token of the tokens file, for commands run on the appliance itself. */
function tokenFromFile(cfg: BootgateConfig): string | undefined {
  if (!cfg.admin.tokensFile) return undefined;
  try {
    const text = readFileSync(cfg.admin.tokensFile, 'utf8');
    const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#') && !l.endsWith(':ro'));
    const token = line?.replace(/:rw$/, '');
    return token && parseTokens(token, 'x').tokens.size === 1 ? token : undefined;
  } catch {
    return undefined;
  }
}

/** Is a Bootgate admin API answering at `base`? (Its OpenAPI document needs no token; its first render is slow on a loaded host.) */
async function probe(base: string, doFetch: typeof fetch): Promise<boolean> {
  try {
    const res = await doFetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return false;
    const doc = (await res.json()) as { info?: { title?: string } };
    return doc.info?.title === 'Bootgate admin API';
  } catch {
    return false;
  }
}

function apiClient(base: string, args: ConnectionArgs, env: CliEnv, cfg: BootgateConfig): AdminClient {
  const token = args.token ?? env.env.BOOTGATE_ADMIN_TOKEN ?? tokenFromFile(cfg);
  if (!token) throw new CliError(`no admin token for ${base}: pass --token or set BOOTGATE_ADMIN_TOKEN`);
  return new ApiClient(base.replace(/\/+$/, ''), token, env.fetch);
}

export async function connect(args: ConnectionArgs, env: CliEnv): Promise<AdminClient> {
  // The profiles the daemon runs with, the zero-config one included.
  const cfg = effectiveConfig(loadConfig({ file: args.config, env: env.env }));
  const api = args.api ?? env.env.BOOTGATE_API;
  if (api) return apiClient(api, args, env, cfg);
  if (args.db) return directClient(args.db, cfg);
  if (cfg.admin.enabled && cfg.http.enabled) {
    const host = cfg.http.address === '0.0.0.0' || cfg.http.address === '::' ? '127.0.0.1' : cfg.http.address;
    const base = `http://${host.includes(':') ? `[${host}]` : host}:${cfg.http.port}/api/v1`;
    if (await probe(base, env.fetch)) return apiClient(base, args, env, cfg);
  }
  return directClient(cfg.store.path, cfg);
}
