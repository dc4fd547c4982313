/**
 * `bootgate password set [--profile P]`, `password clear`, `password status`, `password lift <mac|ip>`.
 *
 * The password is read from the terminal without echo (typed twice), or from the first line of standard
 * input when that is not a terminal (`printf '%s\n' "$PW" | bootgate password set`); never from an
 * argument, which `ps` and shell histories would show.
 *
 * Changes go to the database file directly (a running daemon reads hashes and lockouts from it on every
 * check, so they take effect at once), or through the admin API with `--api` / BOOTGATE_API.
 */
import type { Argv, CommandModule } from 'yargs';
import { connection } from '../inventory/cli.js';
import { ConfigError, loadConfig } from '../../config/load.js';
import { AdminError } from '../inventory/service.js';
import { openStore } from '../../store/db.js';
import { PasswordAdmin, type LockoutDto, type PasswordSetDto, type PasswordStatusDto } from './service.js';
import { passwordProblem } from './hash.js';

export interface PasswordCliIo {
  env: NodeJS.ProcessEnv;
  fetch: typeof fetch;
  out: (text: string) => void;
  err: (text: string) => void;
  setExitCode: (code: number) => void;
  /** Reads one secret: from the terminal without echo (showing `prompt`), else one line of stdin. */
  readSecret: (prompt: string) => Promise<string>;
  /** True when readSecret talks to a person (then the password is asked twice). */
  interactive: boolean;
}

interface Args {
  config?: string;
  db?: string;
  api?: string;
  token?: string;
  json?: boolean;
  profile?: string;
  client?: string;
}

interface PasswordClient {
  target: string;
  set(profile: string | null, password: string): Promise<PasswordSetDto>;
  clear(profile: string | null): Promise<void>;
  status(): Promise<PasswordStatusDto>;
  lift(client: string): Promise<LockoutDto>;
  close(): void;
}

class CliFailure extends Error {}

function directClient(args: Args, io: PasswordCliIo): PasswordClient {
  const cfg = loadConfig({ file: args.config, env: io.env });
  const path = args.db ?? cfg.store.path;
  const store = openStore(path, { busyTimeoutMs: 10_000 });
  const admin = new PasswordAdmin(store, () => cfg);
  const actor = 'cli';
  return {
    target: `database ${path}`,
    set: (profile, pw) => admin.set(profile, pw, actor),
    clear: async (profile) => admin.clear(profile, actor),
    status: async () => admin.status(),
    lift: async (client) => admin.lift(client, actor),
    close: () => store.close(),
  };
}

function apiClient(base: string, args: Args, io: PasswordCliIo): PasswordClient {
  const token = args.token ?? io.env.BOOTGATE_ADMIN_TOKEN;
  if (!token) throw new CliFailure(`no admin token for ${base}: pass --token or set BOOTGATE_ADMIN_TOKEN`);
  const root = base.replace(/\/+$/, '');
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await io.fetch(`${root}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw new CliFailure(`cannot reach the admin API at ${root}: ${(err as Error).message}`);
    }
    if (res.status === 204) return undefined as T;
    const json = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) throw new CliFailure(json.message ?? `HTTP ${res.status}`);
    return json as T;
  };
  const q = (profile: string | null) => (profile ? `?profile=${encodeURIComponent(profile)}` : '');
  return {
    target: `API ${root}`,
    set: (profile, password) => call('PUT', '/password', { password, profile }),
    clear: (profile) => call('DELETE', `/password${q(profile)}`),
    status: () => call('GET', '/password'),
    lift: (client) => call('DELETE', `/password/lockouts/${encodeURIComponent(client)}`),
    close: () => undefined,
  };
}

function connect(args: Args, io: PasswordCliIo): PasswordClient {
  const api = args.api ?? io.env.BOOTGATE_API;
  return api ? apiClient(api, args, io) : directClient(args, io);
}

function run(io: PasswordCliIo, fn: (c: PasswordClient, a: Args) => Promise<{ json: unknown; text: string }>) {
  return async (args: Args): Promise<void> => {
    let client: PasswordClient | undefined;
    try {
      client = connect(args, io);
      const r = await fn(client, args);
      io.out(args.json ? `${JSON.stringify(r.json, null, 2)}\n` : r.text);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems.map((p) => `\n  ${p}`).join('') : '';
      const known = err instanceof CliFailure || err instanceof AdminError || err instanceof ConfigError;
      io.err(`bootgate: ${known ? (err as Error).message.split('\n')[0] : `unexpected error: ${(err as Error).message}`}${problems}\n`);
      io.setExitCode(1);
    } finally {
      client?.close();
    }
  };
}

async function askPassword(io: PasswordCliIo, scope: string): Promise<string> {
  const pw = await io.readSecret(`New boot password for ${scope}: `);
  const problem = passwordProblem(pw);
  if (problem) throw new CliFailure(problem);
  if (io.interactive && (await io.readSecret('Type it again: ')) !== pw) throw new CliFailure('the two passwords differ; nothing changed');
  return pw;
}

function statusText(s: PasswordStatusDto): string {
  const lines = [
    `global password: ${s.global.set ? `set (${s.global.updatedAt} by ${s.global.updatedBy})` : 'not set'}; required for every profile: ${s.required ? 'yes' : 'no'}`,
    `attempts: ${s.maxFailures} wrong per MAC and per IP, then ${s.lockoutMinutes} minutes locked; an unlock lasts ${s.unlockMinutes} minutes`,
    ...s.profiles.map((p) => `profile ${p.name}: ${p.gated ? `gated, asks for ${p.uses === 'none-set' ? 'a password nobody set (cannot be unlocked)' : `the ${p.uses} password`}; protects ${p.files.join(', ') || 'no files'}` : 'not gated'}`),
    ...(s.lockouts.length === 0 ? ['no lockouts'] : s.lockouts.map((l) => `${l.by} ${l.client}: ${l.failures} wrong${l.locked ? `, locked until ${l.lockedUntil}` : ''}`)),
  ];
  return `${lines.join('\n')}\n`;
}

export function createPasswordCommand(io: PasswordCliIo = processPasswordIo()): CommandModule {
  const profile = (y: Argv<Args>) => y.option('profile', { type: 'string', describe: 'a profile\'s own password (default: the global one)' });
  return {
    command: 'password',
    describe: 'boot passwords: set, clear, status, lift a lockout',
    builder: (y) => connection(y)
      .command<Args>('set', 'set a boot password (asked on the terminal, or one line of standard input)', profile,
        run(io, async (c, a) => {
          const scope = a.profile ? `profile ${a.profile}` : 'every gated profile without its own';
          const r = await c.set(a.profile ?? null, await askPassword(io, scope));
          return { json: r, text: `boot password for ${scope} set in ${c.target}\n` };
        }))
      .command<Args>('clear', 'remove a boot password', profile,
        run(io, async (c, a) => { await c.clear(a.profile ?? null); return { json: { cleared: a.profile ?? 'global' }, text: `boot password ${a.profile ? `of profile ${a.profile}` : '(global)'} removed\n` }; }))
      .command<Args>('status', 'which profiles are gated, which passwords are set, lockouts', (b) => b,
        run(io, async (c) => { const s = await c.status(); return { json: s, text: statusText(s) }; }))
      .command<Args>('lift <client>', 'lift the lockout of a MAC or IP address', (b) => b.positional('client', { type: 'string', demandOption: true, describe: 'MAC or IPv4 address' }),
        run(io, async (c, a) => {
          const l = await c.lift(a.client ?? '');
          return { json: l, text: `${l.by} ${l.client}: ${l.locked ? 'lockout lifted' : 'wrong-password count cleared'} (${l.failures} wrong passwords forgotten)\n` };
        }))
      .demandCommand(1),
    handler: () => undefined,
  };
}

/** Reads a line from the terminal with echo off (raw mode), or the first line of a piped stdin. */
async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new CliFailure('cancelled'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export function processPasswordIo(): PasswordCliIo {
  return {
    env: process.env,
    fetch: globalThis.fetch,
    out: (t) => { process.stdout.write(t); },
    err: (t) => { process.stderr.write(t); },
    setExitCode: (c) => { process.exitCode = c; },
    readSecret,
    interactive: Boolean(process.stdin.isTTY),
  };
}
