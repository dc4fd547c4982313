/**
 * `bootgate computers import FILE`, `computers list`, `pending approve MAC --profile P`, `clear MAC`, ...
 * Each goes through the one connection routine (cli/connection.ts): the admin API when a daemon runs,
 * the inventory service on the database otherwise, with the same results and the same errors.
 */
import { extname, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import type { DeploymentKind } from '../../config/schema.js';
import { CliError, connectionOptions, runCommand, serviceCall, type CliIo, type Connection, type ConnectionArgs, type Output } from '../../cli/index.js';
import { formatBytes } from '../../http/admin/errors.js';
import type { ComputerDto, DeviceDto, ImportResult } from './dto.js';
import { computerText, computersTable, devicesTable } from './format.js';
import type { ImportFormat } from './parse.js';
import { IMPORT_BODY_LIMIT, InventoryService } from './service.js';
import type { RawComputer } from './validate.js';

export type DeviceFilter = 'pending' | 'rejected' | 'all';

/** The inventory as a command sees it, through the API or on the database. */
export interface InventoryClient {
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
}

const enc = encodeURIComponent;
const ACTOR = 'cli';

export function inventoryClient(conn: Connection): InventoryClient {
  if (conn.kind === 'api') {
    const { call } = conn.api;
    return {
      listComputers: async (profile) => (await call<{ computers: ComputerDto[] }>('GET', `/computers${profile ? `?profile=${enc(profile)}` : ''}`)).computers,
      getComputer: (ref) => call('GET', `/computers/${enc(ref)}`),
      saveComputer: (raw) => call('POST', '/computers', raw),
      deleteComputer: (ref) => call('DELETE', `/computers/${enc(ref)}`),
      importComputers: (text, format, o) => call('POST', `/computers/import?format=${format}&update=${o.update}${o.profile ? `&profile=${enc(o.profile)}` : ''}`, text,
        { contentType: format === 'csv' ? 'text/csv' : 'application/yaml', limit: IMPORT_BODY_LIMIT }),
      listDevices: async (f) => (await call<{ devices: DeviceDto[] }>('GET', `/pending?status=${f}`)).devices,
      approve: (mac, o) => call('POST', `/pending/${enc(mac)}/approve`, o),
      reject: (mac) => call('POST', `/pending/${enc(mac)}/reject`),
      forget: (mac) => call('DELETE', `/pending/${enc(mac)}`),
      clearBootOnce: (ref) => call('POST', `/computers/${enc(ref)}/clear`),
      deploymentDone: (ref) => call('POST', `/computers/${enc(ref)}/done`),
    };
  }
  const svc = new InventoryService(conn.store, () => conn.cfg);
  const run = serviceCall;
  return {
    listComputers: (profile) => run(() => svc.listComputers(profile === undefined ? {} : { profile })),
    getComputer: (ref) => run(() => svc.getComputer(ref)),
    saveComputer: (raw) => run(() => svc.saveComputer(raw, ACTOR)),
    deleteComputer: (ref) => run(() => svc.deleteComputer(ref, ACTOR)),
    importComputers: (text, format, o) => run(() => svc.importComputers(text, format, { update: o.update, defaultProfile: o.profile ?? null }, ACTOR)),
    listDevices: (f) => run(() => svc.listDevices(f === 'all' ? undefined : f)),
    approve: (mac, o) => run(() => svc.approve(mac, o, ACTOR)),
    reject: (mac) => run(() => svc.reject(mac, ACTOR)),
    forget: (mac) => run(() => svc.forgetDevice(mac, ACTOR)),
    clearBootOnce: (ref) => run(() => svc.clearBootOnce(ref, ACTOR)),
    deploymentDone: (ref) => run(() => svc.deploymentDone(ref, ACTOR)),
  };
}

type Common = ConnectionArgs;

function run<A extends Common>(io: CliIo, fn: (c: InventoryClient, a: A, conn: Connection) => Promise<Output>) {
  return runCommand<InventoryClient, A>(io, inventoryClient, fn);
}

function formatOf(file: string, given: ImportFormat | undefined): ImportFormat {
  if (given) return given;
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  throw new CliError(`cannot tell the format of ${file} from its name; add --format csv or --format yaml`);
}

/** The file to import; over the API's limit it is refused here, whichever way the command goes. */
function importText(io: CliIo, file: string): string {
  const text = io.readFile(file === '-' ? file : resolve(io.cwd ?? process.cwd(), file));
  const size = Buffer.byteLength(text);
  if (size > IMPORT_BODY_LIMIT) {
    throw new CliError(`import refused, nothing was imported: ${file} is ${formatBytes(size)}; the limit is ${formatBytes(IMPORT_BODY_LIMIT)} (split the file)`);
  }
  return text;
}

const kinds = ['required', 'available'] as const;

function computersCommand(io: CliIo): CommandModule {
  return {
    command: 'computers',
    describe: 'known computers: import, list, show, add, remove, done',
    builder: (y) => connectionOptions(y)
      .command<Common & { file: string; format?: ImportFormat; update?: boolean; profile?: string }>('import <file>', 'import a CSV (Name, MAC, SMBIOS GUID, Profile, ...) or YAML file; all or nothing',
        (b) => b.positional('file', { type: 'string', demandOption: true, describe: 'the file, or - for standard input' })
          .option('format', { choices: ['csv', 'yaml'] as const, describe: 'default: from the file name' })
          .option('update', { type: 'boolean', default: false, describe: 'replace computers that already exist (by name)' })
          .option('profile', { type: 'string', describe: 'profile for rows that name none' }),
        run(io, async (c, a, conn) => {
          const format = formatOf(a.file, a.format);
          const r = await c.importComputers(importText(io, a.file), format, { update: a.update ?? false, ...(a.profile ? { profile: a.profile } : {}) });
          const ignored = r.ignoredColumns.length ? `ignored columns: ${r.ignoredColumns.join(', ')}\n` : '';
          return { json: r, text: `imported into ${conn.target}: ${r.created} created, ${r.updated} updated\n${ignored}` };
        }))
      .command<Common & { profile?: string }>('list', 'list known computers', (b) => b.option('profile', { type: 'string', describe: 'only this profile' }),
        run(io, async (c, a) => { const l = await c.listComputers(a.profile); return { json: l, text: computersTable(l) }; }))
      .command<Common & { ref: string }>('show <ref>', 'one computer, by name, MAC or SMBIOS GUID', (b) => b.positional('ref', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { const x = await c.getComputer(a.ref); return { json: x, text: computerText(x) }; }))
      .command<Common & { name: string; mac?: string[]; guid?: string; profile: string; kind?: DeploymentKind; notes?: string }>('add <name>', 'add one computer',
        (b) => b.positional('name', { type: 'string', demandOption: true })
          .option('mac', { type: 'string', array: true, describe: 'MAC address (repeat for several NICs)' })
          .option('guid', { type: 'string', describe: 'SMBIOS GUID (either byte order)' })
          .option('profile', { type: 'string', demandOption: true })
          .option('kind', { choices: kinds })
          .option('notes', { type: 'string' }),
        run(io, async (c, a) => {
          const x = await c.saveComputer({ name: a.name, macs: a.mac ?? [], guid: a.guid ?? null, profile: a.profile, kind: a.kind ?? null, notes: a.notes ?? '' });
          return { json: x, text: `added ${x.name}\n` };
        }))
      .command<Common & { ref: string }>('remove <ref>', 'remove a computer', (b) => b.positional('ref', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { await c.deleteComputer(a.ref); return { json: { removed: a.ref }, text: `removed ${a.ref}\n` }; }))
      .command<Common & { ref: string }>('done <ref>', 'report a deployment finished: a required deployment now boots the local disk', (b) => b.positional('ref', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { const x = await c.deploymentDone(a.ref); return { json: x, text: `${x.name}: deployment done; next boots go to the local disk until cleared\n` }; }))
      .demandCommand(1),
    handler: () => undefined,
  };
}

function pendingCommand(io: CliIo): CommandModule {
  return {
    command: 'pending',
    describe: 'unknown devices waiting for approval: list, approve, reject, forget',
    builder: (y) => connectionOptions(y)
      .command<Common & { rejected?: boolean; all?: boolean }>('list', 'devices waiting for approval',
        (b) => b.option('rejected', { type: 'boolean', describe: 'the rejected ones instead' }).option('all', { type: 'boolean', describe: 'pending and rejected' }),
        run(io, async (c, a) => {
          const f: DeviceFilter = a.all ? 'all' : a.rejected ? 'rejected' : 'pending';
          const l = await c.listDevices(f);
          return { json: l, text: devicesTable(l) };
        }))
      .command<Common & { mac: string; profile?: string; name?: string; kind?: DeploymentKind }>('approve <mac>', 'approve a device: it becomes a known computer and boots on its next try',
        (b) => b.positional('mac', { type: 'string', demandOption: true })
          .option('profile', { type: 'string', describe: 'default: policy.unknown.profile' })
          .option('name', { type: 'string', describe: 'computer name (default pc-<mac>)' })
          .option('kind', { choices: kinds }),
        run(io, async (c, a) => {
          const x = await c.approve(a.mac, { ...(a.name ? { name: a.name } : {}), ...(a.profile ? { profile: a.profile } : {}), ...(a.kind ? { kind: a.kind } : {}) });
          return { json: x, text: `approved ${x.macs[0] ?? a.mac} as ${x.name} (profile ${x.profile})\n` };
        }))
      .command<Common & { mac: string }>('reject <mac>', 'reject a device: it is ignored from now on', (b) => b.positional('mac', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { const d = await c.reject(a.mac); return { json: d, text: `rejected ${d.mac}\n` }; }))
      .command<Common & { mac: string }>('forget <mac>', 'forget a pending or rejected device', (b) => b.positional('mac', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { await c.forget(a.mac); return { json: { forgotten: a.mac }, text: `forgot ${a.mac}\n` }; }))
      .demandCommand(1),
    handler: () => undefined,
  };
}

function clearCommand(io: CliIo): CommandModule<object, Common & { ref: string }> {
  return {
    command: 'clear <ref>',
    describe: 'clear a required deployment (boot once) so the computer network-boots again',
    builder: (y) => connectionOptions(y).positional('ref', { type: 'string', demandOption: true, describe: 'computer name, MAC or SMBIOS GUID' }),
    handler: run(io, async (c, a) => { const x = await c.clearBootOnce(a.ref); return { json: x, text: `${x.name}: cleared; it network-boots its profile ${x.profile} again\n` }; }),
  };
}

/** `computers`, `pending` and `clear`, for features/commands.ts; tests pass their own io. */
export function createInventoryCommands(io: CliIo): CommandModule[] {
  return [computersCommand(io), pendingCommand(io), clearCommand(io) as unknown as CommandModule];
}
