/**
 * The admin commands: `bootgate computers import FILE`, `computers list`, `pending approve MAC --profile P`,
 * `clear MAC`, `settings set --answering false`, `events --mac M`, ... Each works through the admin API
 * when a daemon runs and on the database when none does (client.ts decides).
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../config/load.js';
import type { DeploymentKind } from '../../config/schema.js';
import type { ImportFormat } from './parse.js';
import type { SettingsPatch } from './service.js';
import type { AuditType } from '../../store/audit.js';
import { CliError, connect, type AdminClient, type CliEnv, type ConnectionArgs, type DeviceFilter } from '../../cli/client.js';
import { computerText, computersTable, devicesTable, eventsTable, settingsText } from './format.js';

export interface CliIo extends CliEnv {
  out: (text: string) => void;
  err: (text: string) => void;
  setExitCode: (code: number) => void;
  readFile: (path: string) => string;
}

export const processIo = (): CliIo => ({
  env: process.env,
  fetch: globalThis.fetch,
  out: (t) => { process.stdout.write(t); },
  err: (t) => { process.stderr.write(t); },
  setExitCode: (c) => { process.exitCode = c; },
  readFile: (p) => readFileSync(p === '-' ? 0 : p, 'utf8'),
});

interface Common extends ConnectionArgs { json?: boolean }

/** The flags every command that reaches a daemon or a database takes. */
export function connection<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML config file (finds the daemon and the database)' })
    .option('api', { type: 'string', describe: 'admin API base URL, e.g. http://10.0.0.5:8080/api/v1 (env BOOTGATE_API)' })
    .option('token', { type: 'string', describe: 'admin API token (env BOOTGATE_ADMIN_TOKEN)' })
    .option('db', { type: 'string', describe: 'work on this database file directly (no daemon)' })
    .option('json', { type: 'boolean', describe: 'print JSON (as the API returns it)' })
    .conflicts('api', 'db');
}

function report(io: CliIo, err: unknown): void {
  if (err instanceof CliError) {
    io.err(`bootgate: ${err.message}\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
  } else if (err instanceof ConfigError) {
    io.err(`bootgate: invalid configuration:\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
  } else {
    io.err(`bootgate: ${(err as Error).message}\n`);
  }
  io.setExitCode(1);
}

/** Connects, runs, prints JSON or text, closes; every failure is one message and exit code 1. */
export function runWith<C extends { close(): void }, A extends { json?: boolean | undefined }>(
  io: CliIo,
  open: (args: A, io: CliIo) => Promise<C>,
  fn: (c: C, a: A) => Promise<{ json: unknown; text: string }>,
) {
  return async (args: A): Promise<void> => {
    let client: C | undefined;
    try {
      client = await open(args, io);
      const r = await fn(client, args);
      io.out(args.json ? `${JSON.stringify(r.json, null, 2)}\n` : r.text);
    } catch (err) {
      report(io, err);
    } finally {
      client?.close();
    }
  };
}

function run<A extends Common>(io: CliIo, fn: (c: AdminClient, a: A) => Promise<{ json: unknown; text: string }>) {
  return runWith<AdminClient, A>(io, connect, fn);
}

function formatOf(file: string, given: ImportFormat | undefined): ImportFormat {
  if (given) return given;
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  throw new CliError(`cannot tell the format of ${file} from its name; add --format csv or --format yaml`);
}

const kinds = ['required', 'available'] as const;

function computersCommand(io: CliIo): CommandModule {
  return {
    command: 'computers',
    describe: 'known computers: import, list, show, add, remove, done',
    builder: (y) => connection(y)
      .command<Common & { file: string; format?: ImportFormat; update?: boolean; profile?: string }>('import <file>', 'import a CSV (Name, MAC, SMBIOS GUID, Profile, ...) or YAML file; all or nothing',
        (b) => b.positional('file', { type: 'string', demandOption: true, describe: 'the file, or - for standard input' })
          .option('format', { choices: ['csv', 'yaml'] as const, describe: 'default: from the file name' })
          .option('update', { type: 'boolean', default: false, describe: 'replace computers that already exist (by name)' })
          .option('profile', { type: 'string', describe: 'profile for rows that name none' }),
        run(io, async (c, a) => {
          const r = await c.importComputers(io.readFile(a.file), formatOf(a.file, a.format), { update: a.update ?? false, ...(a.profile ? { profile: a.profile } : {}) });
          const ignored = r.ignoredColumns.length ? `ignored columns: ${r.ignoredColumns.join(', ')}\n` : '';
          return { json: r, text: `imported into ${c.target}: ${r.created} created, ${r.updated} updated\n${ignored}` };
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
    builder: (y) => connection(y)
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
    builder: (y) => connection(y).positional('ref', { type: 'string', demandOption: true, describe: 'computer name, MAC or SMBIOS GUID' }),
    handler: run(io, async (c, a) => { const x = await c.clearBootOnce(a.ref); return { json: x, text: `${x.name}: cleared; it network-boots its profile ${x.profile} again\n` }; }),
  };
}

function settingsCommand(io: CliIo): CommandModule {
  type SetArgs = Common & { answering?: boolean; delay?: number; interfaces?: string[]; reset?: Array<keyof SettingsPatch> };
  return {
    command: 'settings',
    describe: 'run-time switches (persisted): answering, response delay, interfaces',
    builder: (y) => connection(y)
      .command<Common>('show', 'show the switches and where each value comes from', (b) => b,
        run(io, async (c) => { const s = await c.settings(); return { json: s, text: settingsText(s) }; }))
      .command<SetArgs>('set', 'set switches; --reset KEY returns one to the configuration value',
        (b) => b.option('answering', { type: 'boolean', describe: 'false = stop answering (maintenance)' })
          .option('delay', { type: 'number', describe: 'response delay in seconds (0-60)' })
          .option('interfaces', { type: 'string', array: true, describe: 'answer only on these interfaces' })
          .option('reset', { array: true, choices: ['answering', 'responseDelaySeconds', 'interfaces'] as const }),
        run(io, async (c, a) => {
          const patch: Record<string, unknown> = {};
          if (a.answering !== undefined) patch.answering = a.answering;
          if (a.delay !== undefined) patch.responseDelaySeconds = a.delay;
          if (a.interfaces !== undefined) patch.interfaces = a.interfaces.flatMap((i) => i.split(',')).filter((i) => i !== '');
          for (const k of a.reset ?? []) patch[k] = null;
          if (Object.keys(patch).length === 0) throw new CliError('nothing to set: give --answering, --delay, --interfaces or --reset');
          const s = await c.updateSettings(patch as SettingsPatch);
          return { json: s, text: settingsText(s) };
        }))
      .demandCommand(1),
    handler: () => undefined,
  };
}

function timeArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliError(`--${name} ${JSON.stringify(v)} is not a time (ISO 8601, e.g. 2025-01-31T12:00:00Z)`);
  return t;
}

function eventsCommand(io: CliIo): CommandModule<object, Common & { mac?: string; type?: AuditType; since?: string; until?: string; limit: number }> {
  return {
    command: 'events',
    describe: 'audit events, newest first (decisions with reasons, admin changes, boot-once)',
    builder: (y) => connection(y)
      .option('mac', { type: 'string' })
      .option('type', { choices: ['decision', 'admin', 'boot-once', 'suppressed'] as const })
      .option('since', { type: 'string', describe: 'ISO 8601 time' })
      .option('until', { type: 'string', describe: 'ISO 8601 time' })
      .option('limit', { type: 'number', default: 50 }),
    handler: run(io, async (c, a) => {
      const l = await c.events({ mac: a.mac, type: a.type, since: timeArg('since', a.since), until: timeArg('until', a.until), limit: a.limit });
      return { json: l, text: eventsTable(l) };
    }),
  };
}

/** The admin commands, for `yargs().command(createAdminCommands())`; tests pass their own io. */
export function createAdminCommands(io: CliIo = processIo()): CommandModule[] {
  return [computersCommand(io), pendingCommand(io), clearCommand(io) as unknown as CommandModule, settingsCommand(io), eventsCommand(io) as unknown as CommandModule];
}
