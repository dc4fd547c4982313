/**
 * `bootgate settings show`, `settings set --answering false --delay 2 --interfaces br0 --reset KEY`,
 * through the one connection routine: the admin API when a daemon runs, the service on the database otherwise.
 */
import type { CommandModule } from 'yargs';
import { CliError, connectionOptions, runCommand, serviceCall, type BaseIo, type Connection, type ConnectionArgs, type Output } from '../../cli/index.js';
import { settingsText } from './format.js';
import { SettingsService, type SettingsDto, type SettingsPatch } from './service.js';

export interface SettingsClient {
  settings(): Promise<SettingsDto>;
  updateSettings(patch: SettingsPatch): Promise<SettingsDto>;
}

export function settingsClient(conn: Connection): SettingsClient {
  if (conn.kind === 'api') {
    return {
      settings: () => conn.api.call('GET', '/settings'),
      updateSettings: (patch) => conn.api.call('PATCH', '/settings', patch),
    };
  }
  const svc = new SettingsService(conn.store, () => conn.cfg);
  return {
    settings: () => serviceCall(() => svc.settings()),
    updateSettings: (patch) => serviceCall(() => svc.updateSettings(patch, 'cli')),
  };
}

function run<A extends ConnectionArgs>(io: BaseIo, fn: (c: SettingsClient, a: A) => Promise<Output>) {
  return runCommand<SettingsClient, A>(io, settingsClient, fn);
}

type SetArgs = ConnectionArgs & { answering?: boolean; delay?: number; interfaces?: string[]; reset?: Array<keyof SettingsPatch> };

export function createSettingsCommand(io: BaseIo): CommandModule {
  return {
    command: 'settings',
    describe: 'run-time switches (persisted): answering, response delay, interfaces',
    builder: (y) => connectionOptions(y)
      .command<ConnectionArgs>('show', 'show the switches and where each value comes from', (b) => b,
        run(io, async (c) => { const s = await c.settings(); return { json: s, text: settingsText(s) }; }))
      .command<SetArgs>('set', 'set switches; --reset KEY returns one to the configuration value',
        (b) => b.option('answering', { type: 'boolean', describe: 'false = stop answering (maintenance)' })
          .option('delay', { type: 'number', describe: 'response delay in seconds (0-60)' })
          .option('interfaces', { type: 'string', array: true, describe: 'answer only on these interfaces' })
          .option('reset', { array: true, choices: ['answering', 'responseDelaySeconds', 'interfaces'] as const }),
        run(io, async (c, a: SetArgs) => {
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
