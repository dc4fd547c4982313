/**
 * `bootgate events [--mac M] [--type T] [--since TIME] [--until TIME] [--limit N]`, newest first,
 * through the one connection routine: the admin API when a daemon runs, the service on the database otherwise.
 */
import type { CommandModule } from 'yargs';
import { CliError, connectionOptions, runCommand, serviceCall, type BaseIo, type Connection, type ConnectionArgs } from '../../cli/index.js';
import type { AuditType } from '../../store/audit.js';
import { eventsTable } from './format.js';
import { EventsService, type EventDto, type EventFilter } from './service.js';

export type EventsClient = (filter: EventFilter) => Promise<EventDto[]>;

export function eventsClient(conn: Connection): EventsClient {
  if (conn.kind === 'api') {
    return async (f) => {
      const q = new URLSearchParams();
      if (f.mac) q.set('mac', f.mac);
      if (f.type) q.set('type', f.type);
      if (f.since !== undefined) q.set('since', new Date(f.since).toISOString());
      if (f.until !== undefined) q.set('until', new Date(f.until).toISOString());
      if (f.limit !== undefined) q.set('limit', String(f.limit));
      return (await conn.api.call<{ events: EventDto[] }>('GET', `/events?${q.toString()}`)).events;
    };
  }
  const svc = new EventsService(conn.store);
  return (f) => serviceCall(() => svc.events(f));
}

function timeArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliError(`--${name} ${JSON.stringify(v)} is not a time (ISO 8601, e.g. 2025-01-31T12:00:00Z)`);
  return t;
}

type Args = ConnectionArgs & { mac?: string; type?: AuditType; since?: string; until?: string; limit: number };

export function createEventsCommand(io: BaseIo): CommandModule {
  const command: CommandModule<object, Args> = {
    command: 'events',
    describe: 'audit events, newest first (decisions with reasons, admin changes, boot-once)',
    builder: (y) => connectionOptions(y)
      .option('mac', { type: 'string' })
      .option('type', { choices: ['decision', 'admin', 'boot-once', 'suppressed', 'password', 'secure-boot'] as const })
      .option('since', { type: 'string', describe: 'ISO 8601 time' })
      .option('until', { type: 'string', describe: 'ISO 8601 time' })
      .option('limit', { type: 'number', default: 50 }),
    handler: runCommand<EventsClient, Args>(io, eventsClient, async (events, a) => {
      const l = await events({ mac: a.mac, type: a.type, since: timeArg('since', a.since), until: timeArg('until', a.until), limit: a.limit });
      return { json: l, text: eventsTable(l) };
    }),
  };
  return command as unknown as CommandModule;
}
