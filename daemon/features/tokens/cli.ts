/**
 * `bootgate token new [--read-only] [--name NAME]` and `bootgate token path`: the admin tokens file on
 * this host, found through the config as the daemon finds it (admin.tokensFile, else `admin-tokens`
 * beside the store). They work on the file, not through the API: whoever may write the file is the
 * admin of this appliance, and the daemon picks a new token up within 2 seconds.
 */
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { CliError, commandConfig, localOptions, report, type BaseIo } from '../../cli/index.js';
import { adminTokensFile } from '../../http/admin/auth.js';
import { addToken, looselyReadable, nameProblem } from './service.js';

interface TokenArgs { config?: string; json?: boolean; 'read-only'?: boolean; name?: string }

function tokensPath(args: TokenArgs, io: BaseIo): string {
  const { cfg, file } = commandConfig(args, io);
  const where = adminTokensFile(cfg);
  if (where === null) throw new CliError(`no admin tokens file: store.path is :memory: and admin.tokensFile is not set${file ? ` in ${file}` : ''}`);
  return where.path;
}

function handle(io: BaseIo, fn: (a: TokenArgs) => void) {
  return (args: TokenArgs): void => {
    try {
      fn(args);
    } catch (err) {
      if (err instanceof Error && 'code' in err && typeof (err as NodeJS.ErrnoException).code === 'string' && !(err instanceof CliError)) {
        const e = err as NodeJS.ErrnoException;
        report(io, new CliError(`cannot write the admin tokens file${e.path ? ` ${e.path}` : ''}: ${e.code ?? ''}${e.code === 'EACCES' ? ' (run as root or as the daemon\'s user)' : ''}`));
        return;
      }
      report(io, err);
    }
  };
}

export function createTokenCommand(io: BaseIo): CommandModule {
  return {
    command: 'token',
    describe: 'admin API tokens on this host: add one, or say where they are',
    builder: (y) => localOptions(y, 'YAML config file (default /etc/bootgate/bootgate.yaml when it exists): its admin.tokensFile or store.path')
      .command<TokenArgs>('new', 'add a token to the tokens file and print it (shown this once)',
        (b) => b.option('read-only', { type: 'boolean', describe: 'may read, never change (monitoring, dashboards)' })
          .option('name', { type: 'string', describe: 'what the token is for, kept as a comment beside it' }),
        handle(io, (a) => {
          const name = a.name ?? null;
          const problem = name === null ? null : nameProblem(name);
          if (problem) throw new CliError(problem);
          const t = addToken(tokensPath(a, io), { readOnly: a['read-only'] ?? false, name });
          if (a.json) {
            io.out(`${JSON.stringify(t, null, 2)}\n`);
          } else {
            io.out(`${t.token}\n`);
            io.err(`bootgate: ${t.created ? 'created' : 'added to'} ${t.file}: a ${t.readOnly ? 'read-only' : 'read-write'} token (${t.actor} in the audit trail); a running daemon uses it within 2 s\n`);
          }
          if (looselyReadable(t.file)) io.err(`bootgate: warning: ${t.file} is readable by others than its owner: chmod 600 ${t.file}\n`);
        }))
      .command<TokenArgs>('path', 'print where the admin tokens file is (the daemon writes it at its first start)', (b) => b,
        handle(io, (a) => {
          const path = tokensPath(a, io);
          io.out(a.json ? `${JSON.stringify({ path, exists: existsSync(path) }, null, 2)}\n` : `${path}\n`);
        }))
      .demandCommand(1),
    handler: () => undefined,
  };
}
