/**
 * `bootgate appliances`: the fleet's heartbeats, through the one connection routine (the admin API
 * when a daemon runs, the store otherwise).
 */
import type { CommandModule } from 'yargs';
import { connectionOptions, runCommand, serviceCall, shortTime, table, type BaseIo, type Connection, type ConnectionArgs } from '../../cli/index.js';
import { AppliancesService, type ApplianceDto } from './service.js';

type Client = () => Promise<ApplianceDto[]>;

function appliancesClient(conn: Connection): Client {
  if (conn.kind === 'api') return async () => (await conn.api.call<{ appliances: ApplianceDto[] }>('GET', '/appliances')).appliances;
  const svc = new AppliancesService(conn.store);
  return () => serviceCall(() => svc.list());
}

export function appliancesTable(list: ApplianceDto[]): string {
  if (list.length === 0) return 'no appliance has written a heartbeat yet\n';
  return table(['NAME', 'VERSION', 'SUBNETS', 'READY', 'STORE', 'LAST SEEN', 'BOOTS/H'], list.map((a) => [
    a.name, a.version, a.subnets.join(' '), a.ready ? 'yes' : `no (${a.readiness.join('; ')})`, a.storeState,
    `${shortTime(a.lastSeen)}${a.stale ? ' (stale)' : ''}`, String(a.bootsLastHour),
  ]));
}

export function createAppliancesCommand(io: BaseIo): CommandModule {
  const command: CommandModule<object, ConnectionArgs> = {
    command: 'appliances',
    describe: 'the appliances on this store: subnets, version, readiness, store state, last heartbeat, boots in the last hour',
    builder: (y) => connectionOptions(y),
    handler: runCommand<Client, ConnectionArgs>(io, appliancesClient, async (list) => {
      const l = await list();
      return { json: l, text: appliancesTable(l) };
    }),
  };
  return command as unknown as CommandModule;
}
