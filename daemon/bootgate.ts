#!/usr/bin/env node
/**
 * The `bootgate` command. `serve` runs the daemon; the admin commands (computers, pending, clear,
 * settings, events, rollout, password, token, store, init) come from every feature's cli.ts (features/commands.ts). Flags override `BOOTGATE_*` variables, which override the YAML file.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, coerce, configKeys, loadConfig, movedPathProblems } from './config/load.js';
import { startDaemon, type Daemon } from './main.js';
import { createLogger } from './log.js';
import { createAdminCommands } from './features/commands.js';

interface ServeArgs {
  config?: string;
  root?: string;
  interface?: string[];
  'http-port'?: number;
  'tftp-port'?: number;
  'bind-address'?: string;
  'log-level'?: string;
  set?: string[];
}

/** `--set tftp.windowSizeMax=32` for any key; the named flags are the public quick-start interface. */
function overridesFrom(args: ServeArgs): Record<string, unknown> {
  const o: Record<string, unknown> = {
    root: args.root,
    'server.interfaces': args.interface,
    'http.port': args['http-port'],
    'tftp.port': args['tftp-port'],
    'server.bindAddress': args['bind-address'],
    'log.level': args['log-level'],
  };
  for (const pair of args.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError([`--set ${pair}: expected key.path=value`]);
    const key = pair.slice(0, eq);
    const leaf = configKeys.find((k) => k.path === key);
    if (!leaf) throw new ConfigError([`--set ${key}: unknown key (known: ${configKeys.map((k) => k.path).join(', ')})`]);
    o[key] = coerce(leaf.type, pair.slice(eq + 1));
  }
  return o;
}

async function serve(args: ServeArgs): Promise<void> {
  const config = loadConfig({ file: args.config, env: process.env, overrides: overridesFrom(args) });
  if (args.config) {
    const moved = movedPathProblems(args.config, config);
    if (moved.length > 0) throw new ConfigError(moved);
  }
  const logger = createLogger(config.log.level);
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ config, logger });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot start');
    process.exitCode = 1;
    logger.flush();
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const exit = (code: number) => logger.flush(() => process.exit(code));
    daemon.close(30_000).then(
      () => {
        logger.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP re-reads the same file, variables and flags; an invalid result keeps the running config.
  process.on('SIGHUP', () => {
    try {
      const next = loadConfig({ file: args.config, env: process.env, overrides: overridesFrom(args) });
      daemon.reload(next);
    } catch (err) {
      if (err instanceof ConfigError) daemon.metrics.configReloads.inc({ result: 'failed' });
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      logger.error({ problems }, 'configuration reload failed; keeping the running configuration');
    }
  });
}

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('bootgate')
    .command<ServeArgs>(
      'serve',
      'run the appliance (proxyDHCP 67, PXE 4011, TFTP 69, HTTP)',
      (y) =>
        y
          .option('config', { alias: 'c', type: 'string', describe: 'YAML config file (see config/bootgate.example.yaml)' })
          .option('root', { type: 'string', describe: 'boot tree served by TFTP and HTTP' })
          .option('interface', { alias: 'i', type: 'string', array: true, describe: 'answer only on these interfaces (repeat); default: all' })
          .option('http-port', { type: 'number', describe: 'HTTP port for iPXE and UEFI HTTP boot' })
          .option('tftp-port', { type: 'number', describe: 'TFTP port (69)' })
          .option('bind-address', { type: 'string', describe: 'bind this address instead of one socket per interface' })
          .option('log-level', { type: 'string', describe: 'fatal, error, warn, info, debug, trace, silent' })
          .option('set', { type: 'string', array: true, describe: 'override any config key: --set tftp.windowSizeMax=32' }),
      async (args) => {
        try {
          await serve(args);
        } catch (err) {
          if (err instanceof ConfigError) {
            process.stderr.write(`bootgate: invalid configuration:\n  ${err.problems.join('\n  ')}\n`);
            process.exitCode = 2;
            return;
          }
          throw err;
        }
      },
    )
    .command(createAdminCommands())
    .demandCommand(1, 'name a command: serve, init, computers, pending, clear, settings, events, rollout, password, token, store')
    .strict()
    .help();
}

await buildCli(hideBin(process.argv)).parseAsync();
