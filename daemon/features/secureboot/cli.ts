/**
 * `bootgate secure-boot list|show MAC|mark MAC|clear MAC`, through the one connection routine: the admin
 * API when a daemon runs, the service on the database otherwise.
 */
import type { CommandModule } from 'yargs';
import { connectionOptions, runCommand, serviceCall, shortTime, table, type BaseIo, type Connection, type ConnectionArgs, type Output } from '../../cli/index.js';
import { SecureBootAdmin, type SecureBootDto } from './service.js';

export interface SecureBootClient {
  list(): Promise<SecureBootDto[]>;
  show(mac: string): Promise<SecureBootDto>;
  mark(mac: string): Promise<SecureBootDto>;
  clear(mac: string): Promise<{ mac: string; cleared: true }>;
}

export function secureBootClient(conn: Connection): SecureBootClient {
  if (conn.kind === 'api') {
    const at = (mac: string) => `/secure-boot/${encodeURIComponent(mac)}`;
    return {
      list: () => conn.api.call('GET', '/secure-boot'),
      show: (mac) => conn.api.call('GET', at(mac)),
      mark: (mac) => conn.api.call('PUT', at(mac)),
      clear: (mac) => conn.api.call('DELETE', at(mac)),
    };
  }
  const svc = new SecureBootAdmin(conn.store);
  return {
    list: () => serviceCall(() => svc.list()),
    show: (mac) => serviceCall(() => svc.show(mac)),
    mark: (mac) => serviceCall(() => svc.mark(mac, 'cli')),
    clear: (mac) => serviceCall(() => svc.clear(mac, 'cli')),
  };
}

export function secureBootText(rows: readonly SecureBootDto[]): string {
  if (rows.length === 0) return 'no Secure Boot machines (none marked, no refusal noticed)\n';
  return table(['MAC', 'SOURCE', 'REASON', 'REFUSED FILE', 'SINCE', 'BY'],
    rows.map((r) => [r.mac, r.source, r.reason ?? '-', r.file ?? '-', shortTime(r.at), r.actor]));
}

function run<A extends ConnectionArgs>(io: BaseIo, fn: (c: SecureBootClient, a: A) => Promise<Output>) {
  return runCommand<SecureBootClient, A>(io, secureBootClient, fn);
}

type MacArgs = ConnectionArgs & { mac: string };

export function createSecureBootCommand(io: BaseIo): CommandModule {
  const mac = (b: import('yargs').Argv<ConnectionArgs>) => b.positional('mac', { type: 'string', demandOption: true, describe: 'the machine\'s MAC address' }) as unknown as import('yargs').Argv<MacArgs>;
  return {
    command: 'secure-boot',
    describe: 'machines given the profiles\' Secure Boot chain: noticed firmware refusals and admin marks',
    builder: (y) => connectionOptions(y)
      .command<ConnectionArgs>('list', 'list them, newest first', (b) => b,
        run(io, async (c) => { const l = await c.list(); return { json: l, text: secureBootText(l) }; }))
      .command<MacArgs>('show <mac>', 'one machine\'s mark', mac,
        run(io, async (c, a: MacArgs) => { const r = await c.show(a.mac); return { json: r, text: secureBootText([r]) }; }))
      .command<MacArgs>('mark <mac>', 'mark a machine known to run Secure Boot (it gets the Secure Boot chain)', mac,
        run(io, async (c, a: MacArgs) => { const r = await c.mark(a.mac); return { json: r, text: secureBootText([r]) }; }))
      .command<MacArgs>('clear <mac>', 'clear a machine (it gets the profile\'s ordinary boot program again)', mac,
        run(io, async (c, a: MacArgs) => { const r = await c.clear(a.mac); return { json: r, text: `${r.mac}: cleared\n` }; }))
      .demandCommand(1),
    handler: () => undefined,
  };
}
