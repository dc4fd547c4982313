/**
 * `bootgate password set [--profile P]`, `password clear`, `password status`, `password lift <mac|ip>`.
 *
 * The password is read from the terminal without echo (typed twice), or from the first line of standard
 * input when that is not a terminal (`printf '%s\n' "$PW" | bootgate password set`); never from an
 * argument, which `ps` and shell histories would show.
 *
 * Like every admin command it goes through the one connection routine (cli/connection.ts): the admin
 * API when a daemon runs (PUT /password, ...), the password service on the database otherwise (a
 * running daemon reads hashes and lockouts from it on every check).
 */
import type { Argv, CommandModule } from 'yargs';
import { CliError, connectionOptions, runCommand, serviceCall, type BaseIo, type Connection, type ConnectionArgs, type Output } from '../../cli/index.js';
import { PasswordAdmin, type LockoutDto, type PasswordSetDto, type PasswordStatusDto } from './service.js';
import { passwordProblem } from './hash.js';

export interface PasswordCliIo extends BaseIo {
  /** Reads one secret: from the terminal without echo (showing `prompt`), else one line of stdin. */
  readSecret: (prompt: string) => Promise<string>;
  /** True when readSecret talks to a person (then the password is asked twice). */
  interactive: boolean;
}

interface Args extends ConnectionArgs {
  profile?: string;
  client?: string;
}

export interface PasswordClient {
  set(profile: string | null, password: string): Promise<PasswordSetDto>;
  clear(profile: string | null): Promise<void>;
  status(): Promise<PasswordStatusDto>;
  lift(client: string): Promise<LockoutDto>;
}

export function passwordClient(conn: Connection): PasswordClient {
  if (conn.kind === 'api') {
    const { call } = conn.api;
    const q = (profile: string | null) => (profile ? `?profile=${encodeURIComponent(profile)}` : '');
    return {
      set: (profile, password) => call('PUT', '/password', { password, profile }),
      clear: (profile) => call('DELETE', `/password${q(profile)}`),
      status: () => call('GET', '/password'),
      lift: (client) => call('DELETE', `/password/lockouts/${encodeURIComponent(client)}`),
    };
  }
  const admin = new PasswordAdmin(conn.store, () => conn.cfg);
  const actor = 'cli';
  return {
    set: (profile, pw) => serviceCall(() => admin.set(profile, pw, actor)),
    clear: (profile) => serviceCall(() => admin.clear(profile, actor)),
    status: () => serviceCall(() => admin.status()),
    lift: (client) => serviceCall(() => admin.lift(client, actor)),
  };
}

function run(io: BaseIo, fn: (c: PasswordClient, a: Args, conn: Connection) => Promise<Output>) {
  return runCommand<PasswordClient, Args>(io, passwordClient, fn);
}

async function askPassword(io: Pick<PasswordCliIo, 'readSecret' | 'interactive'>, scope: string): Promise<string> {
  const pw = await io.readSecret(`New boot password for ${scope}: `);
  const problem = passwordProblem(pw);
  if (problem) throw new CliError(problem);
  if (io.interactive && (await io.readSecret('Type it again: ')) !== pw) throw new CliError('the two passwords differ; nothing changed');
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
    builder: (y) => connectionOptions(y)
      .command<Args>('set', 'set a boot password (asked on the terminal, or one line of standard input)', profile,
        run(io, async (c, a, conn) => {
          const scope = a.profile ? `profile ${a.profile}` : 'every gated profile without its own';
          const r = await c.set(a.profile ?? null, await askPassword(io, scope));
          return { json: r, text: `boot password for ${scope} set in ${conn.target}\n` };
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
        if (ch === '\u0003' || ch === '\u0004') return done(new CliError('cancelled'));
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
