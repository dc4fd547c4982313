/**
 * `bootgate store backup FILE`: through the admin API when the daemon answers (the daemon makes the
 * copy on its own connection and streams it; FILE is written here, wherever the command runs), else
 * straight from the database file. Either way FILE appears only once the copy is whole and checked.
 * `bootgate store restore FILE`: only with the daemon stopped; keeps the database it replaces, and
 * marks the required deployments consumed since the backup as consumed again (`--no-keep-consumed`
 * leaves them to be offered again).
 */
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import {
  CliError, commandConfig, configuredApi, connectionOptions, fetchFor, localOptions, probe, report, runCommand,
  type BaseIo, type Connection, type ConnectionArgs,
} from '../../cli/index.js';
import { storeMigrateCommand } from './migrate-cli.js';
import { backupStore, restoreStore, type RestoreResult } from './service.js';

type BackupArgs = ConnectionArgs & { file: string };
type RestoreArgs = { config?: string; db?: string; json?: boolean; file: string; 'keep-consumed': boolean };

function restoreText(r: RestoreResult): string {
  const lines = [`restored ${r.restored} from ${r.from}`];
  lines.push(r.previous ? `the database it replaced is kept as ${r.previous}` : 'there was no database before');
  if (r.consumedSince.length > 0) {
    lines.push(r.carriedOver
      ? `required deployments consumed since the backup, marked consumed again (${r.consumedSince.length}):`
      : `required deployments consumed since the backup, NOT marked: they will be offered again (${r.consumedSince.length}):`);
    for (const c of r.consumedSince) lines.push(`  ${c.computer}  consumed ${new Date(c.consumedAt).toISOString()} (${c.by})`);
  }
  return `${lines.join('\n')}\n`;
}

export function createStoreCommand(io: BaseIo): CommandModule {
  return {
    command: 'store',
    describe: 'the database: back it up (while the daemon runs), restore a backup (daemon stopped), move it into a fleet\'s shared PostgreSQL',
    builder: (y) => y
      .command(storeMigrateCommand(io))
      .command<BackupArgs>('backup <file>', 'write a consistent copy of the store to FILE (through the daemon when it runs)',
        (b) => connectionOptions(b).positional('file', { type: 'string', demandOption: true, describe: 'where the backup goes (replaced once the copy is complete)' }),
        runCommand<Connection, BackupArgs>(io, (conn) => conn, async (conn, a) => {
          const file = resolve(io.cwd ?? process.cwd(), a.file);
          const bytes = conn.kind === 'api'
            ? await conn.api.download('POST', '/store/backup', file)
            : (await backupStore(conn.store, file)).bytes;
          return { json: { file, bytes, via: conn.target }, text: `backup of ${conn.target} written to ${file} (${bytes} bytes)\n` };
        }))
      .command<RestoreArgs>('restore <file>', 'put a backup in place of the database (stop the daemon first)',
        (b) => localOptions(b.positional('file', { type: 'string', demandOption: true, describe: 'a backup made by `bootgate store backup`' }),
          'YAML config file: its store.path, relative to its folder')
          .option('db', { type: 'string', describe: 'restore to this database file instead' })
          .option('keep-consumed', { type: 'boolean', default: true, describe: 'mark required deployments consumed since the backup as consumed again (--no-keep-consumed: offer them again)' }),
        async (a) => {
          try {
            const cwd = io.cwd ?? process.cwd();
            const { cfg } = commandConfig(a, io);
            const path = a.db ? resolve(cwd, a.db) : cfg.store.path;
            if (path === ':memory:') throw new CliError('store.path is :memory:; there is no database file to restore to');
            const api = configuredApi(cfg);
            if ('base' in api && await probe(api.base, fetchFor(api.base, api.ca, io))) {
              throw new CliError(`the daemon answers at ${api.base}: stop it first (systemctl stop bootgate), restore, then start it`);
            }
            let r: RestoreResult;
            try {
              r = restoreStore(path, resolve(cwd, a.file), { keepConsumed: a['keep-consumed'] });
            } catch (err) {
              throw new CliError((err as Error).message);
            }
            io.out(a.json ? `${JSON.stringify(r, null, 2)}\n` : restoreText(r));
          } catch (err) {
            report(io, err);
          }
        })
      .demandCommand(1, 'name a store command: backup, restore or migrate'),
    handler: () => undefined,
  };
}
