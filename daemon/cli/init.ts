/**
 * `bootgate init [-c FILE | --db FILE]`: creates and migrates the database the config names (store.path,
 * relative to the config file's folder), the one command besides the daemon that may create one.
 * Run again, it applies the migrations a newer bootgate brings and says the schema version.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { openStore } from '../store/db.js';
import { commandConfig, localOptions } from './connection.js';
import { CliError, report, type BaseIo } from './io.js';

interface InitArgs { config?: string; db?: string; json?: boolean }

export function initCommand(io: BaseIo): CommandModule<object, InitArgs> {
  return {
    command: 'init',
    describe: 'create (or upgrade) the database the config names; admin commands never create one',
    builder: (y) => localOptions(y, 'YAML config file: its store.path, relative to its folder')
      .option('db', { type: 'string', describe: 'this database file instead' }),
    handler: async (args) => {
      try {
        const { cfg } = commandConfig(args, io);
        const path = args.db ? resolve(io.cwd ?? process.cwd(), args.db) : cfg.store.path;
        if (path === ':memory:') throw new CliError('store.path is :memory:; there is no database file to create');
        const existed = existsSync(path);
        const store = openStore(path);
        const version = store.schemaVersion();
        store.close();
        io.out(args.json ? `${JSON.stringify({ path, created: !existed, schemaVersion: version }, null, 2)}\n`
          : `${existed ? 'database' : 'created database'} ${path} (schema version ${version})\n`);
      } catch (err) {
        report(io, err);
      }
    },
  };
}
