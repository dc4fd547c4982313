/**
 * What a command talks to (terminal, environment, network, files), injected so tests run commands
 * in-process; and the one error style: `bootgate: <sentence>` on stderr, then every problem indented,
 * exit code 1.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { AdminError } from '../http/admin/errors.js';
import { StoreError } from '../store/db.js';

export interface BaseIo {
  env: NodeJS.ProcessEnv;
  fetch: typeof fetch;
  out: (text: string) => void;
  err: (text: string) => void;
  setExitCode: (code: number) => void;
  /** The folder relative command-line paths are taken from (default: the process's). */
  cwd?: string;
  /** The config read without `-c` when it exists (default /etc/bootgate/bootgate.yaml; null: none). */
  defaultConfig?: string | null;
}

export interface CliIo extends BaseIo {
  /** Reads a file a command was given (`-` = standard input). */
  readFile: (path: string) => string;
}

export const processIo = (): CliIo => ({
  env: process.env,
  fetch: globalThis.fetch,
  out: (t) => { process.stdout.write(t); },
  err: (t) => { process.stderr.write(t); },
  setExitCode: (c) => { process.exitCode = c; },
  readFile: (p) => readFileSync(p === '-' ? 0 : p, 'utf8'),
});

/** A refusal of the CLI's own (a flag, a file, the connection) or the service's, with its problems. */
export class CliError extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(message);
    this.name = 'CliError';
  }
}

/** Runs a service call for the CLI: the service's refusals become CLI errors with the same text. */
export async function serviceCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AdminError) throw new CliError(err.message, err.problems);
    throw err;
  }
}

/** The problems worth a line of their own: all of them, unless the one problem is the message itself. */
function listed(message: string, problems: string[]): string[] {
  return problems.length === 1 && problems[0] === message ? [] : problems;
}

export function report(io: BaseIo, err: unknown): void {
  if (err instanceof CliError) {
    io.err(`bootgate: ${err.message}\n${listed(err.message, err.problems).map((p) => `  ${p}\n`).join('')}`);
  } else if (err instanceof ConfigError) {
    io.err(`bootgate: invalid configuration:\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
  } else if (err instanceof StoreError) {
    io.err(`bootgate: ${err.message}\n`);
  } else {
    io.err(`bootgate: unexpected error: ${(err as Error).message}\n`);
  }
  io.setExitCode(1);
}
