/**
 * `bootgate rollout ...`: the schedule table of a profile's rollout, halting and resuming a group,
 * reporting a deployment result, and assigning computers to groups. Like every admin command it goes
 * through the one connection routine (cli/connection.ts): the admin API when a daemon runs, the
 * rollout service on the database otherwise; the running daemon notices either way.
 *
 * Registered by features/commands.ts next to the other admin commands.
 */
import type { Argv, CommandModule } from 'yargs';
import { connectionOptions, processIo, runCommand, serviceCall, type BaseIo, type Connection, type ConnectionArgs, type Output } from '../../cli/index.js';
import { InventoryService } from '../inventory/service.js';
import type { ResultStatus } from './failures.js';
import { RolloutService, type MemberInput, type ResultInput, type ResultOutcome } from './service.js';
import { renderStatus, type RolloutStatus } from './status.js';
import { RolloutRepo, type MemberRecord } from './store.js';

export interface RolloutClient {
  status(profile: string): Promise<RolloutStatus>;
  halt(profile: string, group: string, reason?: string): Promise<RolloutStatus>;
  resume(profile: string, group: string): Promise<RolloutStatus>;
  result(input: ResultInput): Promise<ResultOutcome>;
  members(): Promise<MemberRecord[]>;
  assign(list: MemberInput[]): Promise<MemberRecord[]>;
  unassign(computer: string): Promise<void>;
}

type Args = ConnectionArgs;

type StatusDto = Omit<RolloutStatus, 'groups'> & { groups: Array<Omit<RolloutStatus['groups'][number], 'halt'> & { halt: { at: string; by: string; reason: string } | null }> };
type MemberDto = Omit<MemberRecord, 'updatedAt'> & { updatedAt: string };

const enc = encodeURIComponent;
const fromDto = (s: StatusDto): RolloutStatus => ({ ...s, groups: s.groups.map((g) => ({ ...g, halt: g.halt && { ...g.halt, at: Date.parse(g.halt.at) } })) });
const memberFromDto = (m: MemberDto): MemberRecord => ({ ...m, updatedAt: Date.parse(m.updatedAt) });

/** API calls, or the service in this process on the database (a `done` result also consumes boot-once, as the API does). */
export function rolloutClient(conn: Connection): RolloutClient {
  if (conn.kind === 'api') {
    const { call } = conn.api;
    const group = (p: string, g: string) => `/rollouts/${enc(p)}/groups/${enc(g)}`;
    return {
      status: async (p) => fromDto(await call<StatusDto>('GET', `/rollouts/${enc(p)}`)),
      halt: async (p, g, reason) => fromDto(await call<StatusDto>('POST', `${group(p, g)}/halt`, reason ? { reason } : {})),
      resume: async (p, g) => fromDto(await call<StatusDto>('POST', `${group(p, g)}/resume`, {})),
      result: (input) => call<ResultOutcome>('POST', '/results', input),
      members: async () => (await call<{ members: MemberDto[] }>('GET', '/rollout-members')).members.map(memberFromDto),
      assign: async (list) => (await call<{ members: MemberDto[] }>('PUT', '/rollout-members', { members: list })).members.map(memberFromDto),
      unassign: (c) => call<void>('DELETE', `/rollout-members/${enc(c)}`),
    };
  }
  const actor = 'cli';
  const inventory = new InventoryService(conn.store, () => conn.cfg);
  const svc = new RolloutService(RolloutRepo.open(conn.store), () => conn.cfg, { onDone: (computer, who) => inventory.deploymentDone(computer, who) });
  const run = serviceCall;
  return {
    status: (p) => run(() => svc.status(p)),
    halt: (p, g, reason) => run(() => svc.halt(p, g, actor, reason)),
    resume: (p, g) => run(() => svc.resume(p, g, actor)),
    result: (input) => run(() => svc.recordResult(input, actor)),
    members: () => run(() => svc.members()),
    assign: (list) => run(() => svc.setMembers(list, actor)),
    unassign: (c) => run(() => svc.removeMember(c, actor)),
  };
}

function run<A extends Args>(io: BaseIo, fn: (c: RolloutClient, a: A, conn: Connection) => Promise<Output>) {
  return runCommand<RolloutClient, A>(io, rolloutClient, fn);
}

const membersText = (list: MemberRecord[]): string => (list.length === 0 ? 'no computer is assigned to a rollout group (all are "ungrouped")\n'
  : list.map((m) => `${m.computer}  group ${m.group}  criticality ${m.criticality ?? '-'}  window ${m.window ?? '(group\'s)'}\n`).join(''));

type GroupArgs = Args & { profile: string; group: string };

/** `bootgate rollout status|halt|resume|result|assign|unassign|members`; tests pass their own io. */
export function createRolloutCommand(io: BaseIo = processIo()): CommandModule {
  const pg = (b: Argv<Args>) => b.positional('profile', { type: 'string', demandOption: true }).positional('group', { type: 'string', demandOption: true });
  return {
    command: 'rollout',
    describe: 'ramped rollouts: schedule table, halt/resume a group, deployment results, groups of computers',
    builder: (y) => connectionOptions(y)
      .command<Args & { profile: string }>('status <profile>', 'per group and per day: machines planned, admitted, done and failed',
        (b) => b.positional('profile', { type: 'string', demandOption: true }),
        run(io, async (c, a) => { const st = await c.status(a.profile); return { json: st, text: renderStatus(st) }; }))
      .command<GroupArgs & { reason?: string }>('halt <profile> <group>', 'halt a group: nobody new is admitted from the next day on',
        (b) => pg(b).option('reason', { type: 'string', describe: 'kept in the status and the audit trail' }),
        run(io, async (c, a, conn) => { const st = await c.halt(a.profile, a.group, a.reason); return { json: st, text: `halted group ${a.group} of ${a.profile} (${conn.target})\n` }; }))
      .command<GroupArgs>('resume <profile> <group>', 'resume a halted group at the rate it stopped at', pg,
        run(io, async (c, a, conn) => { const st = await c.resume(a.profile, a.group); return { json: st, text: `resumed group ${a.group} of ${a.profile} (${conn.target})\n` }; }))
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
