/**
 * `bootgate rollout ...`: the schedule table of a profile's rollout, halting and resuming a group,
 * reporting a deployment result, and assigning computers to groups. Like the other admin commands it
 * goes through the admin API when a daemon runs (`--api`, BOOTGATE_API, or found on the configured
 * HTTP port) and works on the database file otherwise; the running daemon notices either way.
 *
 * Registered by the CLI next to the admin commands: `yargs(argv).command(createRolloutCommand())`.
 */
import type { Argv, CommandModule } from 'yargs';
import { loadConfig } from '../../config/load.js';
import type { BootgateConfig } from '../../config/schema.js';
import { CliError, serviceCall } from '../../cli/client.js';
import { connection, processIo, runWith, type CliIo } from '../inventory/cli.js';
import { AdminService } from '../inventory/service.js';
import { openStore } from '../../store/db.js';
import type { ResultStatus } from './failures.js';
import { RolloutService, type MemberInput, type ResultInput, type ResultOutcome } from './service.js';
import { renderStatus, type RolloutStatus } from './status.js';
import { RolloutRepo, type MemberRecord } from './store.js';

export interface RolloutClient {
  readonly target: string;
  status(profile: string): Promise<RolloutStatus>;
  halt(profile: string, group: string, reason?: string): Promise<RolloutStatus>;
  resume(profile: string, group: string): Promise<RolloutStatus>;
  result(input: ResultInput): Promise<ResultOutcome>;
  members(): Promise<MemberRecord[]>;
  assign(list: MemberInput[]): Promise<MemberRecord[]>;
  unassign(computer: string): Promise<void>;
  close(): void;
}

interface Args {
  config?: string;
  api?: string;
  token?: string;
  db?: string;
  json?: boolean;
}

type StatusDto = Omit<RolloutStatus, 'groups'> & { groups: Array<Omit<RolloutStatus['groups'][number], 'halt'> & { halt: { at: string; by: string; reason: string } | null }> };
type MemberDto = Omit<MemberRecord, 'updatedAt'> & { updatedAt: string };

const enc = encodeURIComponent;
const fromDto = (s: StatusDto): RolloutStatus => ({ ...s, groups: s.groups.map((g) => ({ ...g, halt: g.halt && { ...g.halt, at: Date.parse(g.halt.at) } })) });
const memberFromDto = (m: MemberDto): MemberRecord => ({ ...m, updatedAt: Date.parse(m.updatedAt) });

function apiClient(base: string, token: string, doFetch: typeof fetch): RolloutClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      const c = (err as { cause?: { code?: string } }).cause;
      throw new CliError(`cannot reach the admin API at ${base}: ${c?.code ?? (err as Error).message}`);
    }
    if (res.status === 204) return undefined as T;
    const json = (await res.json().catch(() => ({ message: `HTTP ${res.status} without a JSON body` }))) as { message?: string; problems?: string[] };
    if (!res.ok) throw new CliError(json.message ?? `HTTP ${res.status}`, json.problems && json.problems.length > 1 ? json.problems : []);
    return json as T;
  };
  const group = (p: string, g: string) => `/rollouts/${enc(p)}/groups/${enc(g)}`;
  return {
    target: `API ${base}`,
    status: async (p) => fromDto(await call<StatusDto>('GET', `/rollouts/${enc(p)}`)),
    halt: async (p, g, reason) => fromDto(await call<StatusDto>('POST', `${group(p, g)}/halt`, reason ? { reason } : {})),
    resume: async (p, g) => fromDto(await call<StatusDto>('POST', `${group(p, g)}/resume`, {})),
    result: (input) => call<ResultOutcome>('POST', '/results', input),
    members: async () => (await call<{ members: MemberDto[] }>('GET', '/rollout-members')).members.map(memberFromDto),
    assign: async (list) => (await call<{ members: MemberDto[] }>('PUT', '/rollout-members', { members: list })).members.map(memberFromDto),
    unassign: (c) => call<void>('DELETE', `/rollout-members/${enc(c)}`),
    close: () => undefined,
  };
}

/** The service in this process on the database file; a `done` result also consumes boot-once, as the API does. */
function directClient(path: string, cfg: BootgateConfig): RolloutClient {
  const store = openStore(path, { busyTimeoutMs: 10_000 });
  const actor = 'cli';
  let svc: RolloutService;
  try {
    const admin = new AdminService(store, () => cfg);
    svc = new RolloutService(RolloutRepo.open(store), () => cfg, { onDone: (computer, who) => admin.deploymentDone(computer, who) });
  } catch (err) {
    store.close();
    throw err;
  }
  const run = serviceCall;
  return {
    target: `database ${path}`,
    status: (p) => run(() => svc.status(p)),
    halt: (p, g, reason) => run(() => svc.halt(p, g, actor, reason)),
    resume: (p, g) => run(() => svc.resume(p, g, actor)),
    result: (input) => run(() => svc.recordResult(input, actor)),
    members: () => run(() => svc.members()),
    assign: (list) => run(() => svc.setMembers(list, actor)),
    unassign: (c) => run(() => svc.removeMember(c, actor)),
    close: () => store.close(),
  };
}

/** Is a Bootgate admin API answering at `base`? (Its OpenAPI document needs no token.) */
async function probe(base: string, doFetch: typeof fetch): Promise<boolean> {
  try {
    const res = await doFetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(1500) });
    return res.ok && ((await res.json()) as { info?: { title?: string } }).info?.title === 'Bootgate admin API';
  } catch {
    return false;
  }
}

export async function connectRollouts(args: Args, io: Pick<CliIo, 'env' | 'fetch'>): Promise<RolloutClient> {
  const cfg = loadConfig({ file: args.config, env: io.env });
  const withToken = (base: string) => {
    const token = args.token ?? io.env.BOOTGATE_ADMIN_TOKEN;
    if (!token) throw new CliError(`no admin token for ${base}: pass --token or set BOOTGATE_ADMIN_TOKEN`);
    return apiClient(base.replace(/\/+$/, ''), token, io.fetch);
  };
  const api = args.api ?? io.env.BOOTGATE_API;
  if (api) return withToken(api);
  if (args.db) return directClient(args.db, cfg);
  if (cfg.admin.enabled && cfg.http.enabled) {
    const host = cfg.http.address === '0.0.0.0' || cfg.http.address === '::' ? '127.0.0.1' : cfg.http.address;
    const base = `http://${host.includes(':') ? `[${host}]` : host}:${cfg.http.port}/api/v1`;
    if (await probe(base, io.fetch)) return withToken(base);
  }
  return directClient(cfg.store.path, cfg);
}

function run<A extends Args>(io: CliIo, fn: (c: RolloutClient, a: A) => Promise<{ json: unknown; text: string }>) {
  return runWith<RolloutClient, A>(io, connectRollouts, fn);
}


const membersText = (list: MemberRecord[]): string => (list.length === 0 ? 'no computer is assigned to a rollout group (all are "ungrouped")\n'
  : list.map((m) => `${m.computer}  group ${m.group}  criticality ${m.criticality ?? '-'}  window ${m.window ?? '(group\'s)'}\n`).join(''));

type GroupArgs = Args & { profile: string; group: string };

/** `bootgate rollout status|halt|resume|result|assign|unassign|members`; tests pass their own io. */
export function createRolloutCommand(io: CliIo = processIo()): CommandModule {
  const pg = (b: Argv<Args>) => b.positional('profile', { type: 'string', demandOption: true }).positional('group', { type: 'string', demandOption: true });
  return {
    command: 'rollout',
    describe: 'ramped rollouts: schedule table, halt/resume a group, deployment results, groups of computers',
    builder: (y) => connection(y)
      .command<Args & { profile: string }>('status <profile>', 'per group and per day: machines planned, admitted, done and failed',
        (b) => b.positional('profile', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { const st = await c.status(a.profile); return { json: st, text: renderStatus(st) }; }))
      .command<GroupArgs & { reason?: string }>('halt <profile> <group>', 'halt a group: nobody new is admitted from the next day on',
        (b) => pg(b).option('reason', { type: 'string', describe: 'kept in the status and the audit trail' }),
        run(io, async (c, a) => { const st = await c.halt(a.profile, a.group, a.reason); return { json: st, text: `halted group ${a.group} of ${a.profile} (${c.target})\n` }; }))
      .command<GroupArgs>('resume <profile> <group>', 'resume a halted group at the rate it stopped at', pg,
        run(io, async (c, a) => { const st = await c.resume(a.profile, a.group); return { json: st, text: `resumed group ${a.group} of ${a.profile} (${c.target})\n` }; }))
      .command<Args & { computer: string; status: ResultStatus; profile?: string; detail?: string }>('result <computer> <status>', 'report a deployment result (done or failed)',
        (b) => b.positional('computer', { type: 'string', demandOption: true, describe: 'name, MAC or SMBIOS GUID' })
          .positional('status', { choices: ['done', 'failed'] as const, demandOption: true })
          .option('profile', { type: 'string', describe: 'default: the computer\'s profile' })
          .option('detail', { type: 'string' }),
        run(io, async (c, a) => {
          const r = await c.result({ computer: a.computer, status: a.status, ...(a.profile ? { profile: a.profile } : {}), ...(a.detail ? { detail: a.detail } : {}) });
          return { json: r, text: `${r.computer}: ${r.status} (${r.profile}, group ${r.group})${r.halted ? `; group ${r.group} halted: ${r.halted}` : ''}\n` };
        }))
      .command<Args & { computer: string; group: string; criticality?: number; window?: string }>('assign <computer> <group>', 'put a computer in a rollout group',
        (b) => b.positional('computer', { type: 'string', demandOption: true, describe: 'name, MAC or SMBIOS GUID' })
          .positional('group', { type: 'string', demandOption: true })
          .option('criticality', { type: 'number', describe: 'lower = less critical = admitted earlier' })
          .option('window', { type: 'string', describe: 'a maintenanceWindows name of its own' }),
        run(io, async (c, a) => {
          const l = await c.assign([{ computer: a.computer, group: a.group, criticality: a.criticality ?? null, window: a.window ?? null }]);
          return { json: l, text: membersText(l) };
        }))
      .command<Args & { computer: string }>('unassign <computer>', 'take a computer out of its group (it joins "ungrouped")',
        (b) => b.positional('computer', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { await c.unassign(a.computer); return { json: { unassigned: a.computer }, text: `${a.computer} is ungrouped now\n` }; }))
      .command<Args>('members', 'computers with a rollout group', (b) => b,
        run(io, async (c) => { const l = await c.members(); return { json: l, text: membersText(l) }; }))
      .demandCommand(1),
    handler: () => undefined,
  };
}
