/**
 * `bootgate store migrate --from data/bootgate.db --to postgres://...`: moves an existing appliance's
 * store (its SQLite file) into a fleet's shared PostgreSQL database, in one transaction, idempotent
 * (daemon/store/copy.ts). A computer that conflicts with a different one in the target stops the copy
 * unless --merge. The password comes from --password-file or PGPASSFILE, never from the command line.
 * A progress bar on a terminal.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { CliError, report, type BaseIo } from '../../cli/index.js';
import { CopyConflictError, copyStore } from '../../store/copy.js';
import { openStore } from '../../store/db.js';
import { redactUrl } from '../../store/pg-conn.js';

interface MigrateArgs { from: string; to: string; merge?: boolean; name?: string; passwordFile?: string; json?: boolean }

function bar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** `bootgate store migrate`: a subcommand of the store command (cli.ts). */
export function storeMigrateCommand(io: BaseIo, isTty: () => boolean = () => process.stderr.isTTY === true): CommandModule {
  const migrate: CommandModule<object, MigrateArgs> = {
    command: 'migrate',
    describe: 'copy an appliance\'s SQLite store into the shared PostgreSQL store (idempotent, one transaction)',
    builder: (y) => y
      .option('from', { type: 'string', demandOption: true, describe: 'the SQLite database file (data/bootgate.db)' })
      .option('to', { type: 'string', demandOption: true, describe: 'postgres:// connection string of the shared store (no password in it)' })
      .option('merge', { type: 'boolean', default: false, describe: 'let the source\'s computers replace conflicting ones in the target' })
      .option('name', { type: 'string', describe: 'the appliance the file belonged to (audit events, devices); default this host\'s name' })
      .option('password-file', { type: 'string', describe: 'file whose first line is the PostgreSQL password (else PGPASSFILE)' })
      .option('json', { type: 'boolean', describe: 'print JSON' }),
    handler: async (args) => {
      try {
        const from = resolve(io.cwd ?? process.cwd(), args.from);
        if (!existsSync(from)) throw new CliError(`--from ${from}: no such file`);
        if (!/^postgres(ql)?:\/\//i.test(args.to)) throw new CliError('--to must be a postgres:// connection string');
        if (/^postgres(ql)?:\/\/[^/@]*:[^@]*@/i.test(args.to) || /[?&]password=/i.test(args.to)) throw new CliError('--to carries a password: use --password-file or PGPASSFILE, never the command line');
        const source = openStore(from, { mustExist: true });
        try {
          const target = openStore(args.to, { passwordFile: args.passwordFile ?? null, statementTimeoutMs: 0 });
          try {
            const tty = !args.json && isTty();
            const result = copyStore(source, target, {
              merge: args.merge ?? false,
              sourceName: args.name ?? hostname(),
              onProgress: tty ? (done, total) => io.err(`\r${bar(done, total)}`) : undefined,
            });
            if (tty) io.err('\n');
            target.notify('external');
            io.out(args.json ? `${JSON.stringify(result, null, 2)}\n`
              : `copied ${from} into ${redactUrl(args.to)}: computers ${result.computers.added} added, ${result.computers.replaced} replaced, `
                + `${result.computers.unchanged} already there; ${Object.entries(result.rows).map(([t, n]) => `${t} ${n}`).join(', ')}\n`);
          } finally {
            target.close();
          }
        } finally {
          source.close();
        }
      } catch (err) {
        if (err instanceof CopyConflictError) report(io, new CliError(err.message, err.conflicts));
        else report(io, err);
      }
    },
  };
  return migrate as unknown as CommandModule;
}
