/**
 * `bootgate password ...` on a database file: set (typed twice on a terminal, or one line of stdin),
 * status, lift, clear; the password is never an argument and never printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { validateConfig } from '../../daemon/config/load.js';
import { openStore } from '../../daemon/store/db.js';
import { createPasswordCommand, type PasswordCliIo } from '../../daemon/features/password/cli.js';
import { verifyPassword } from '../../daemon/features/password/hash.js';
import { PasswordRepo } from '../../daemon/features/password/store.js';

let dir: string;
let configPath: string;
let dbPath: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-pw-cli-'));
  dbPath = join(dir, 'bootgate.db');
  configPath = join(dir, 'bootgate.yaml');
  writeFileSync(configPath, [
    `store: { path: ${JSON.stringify(dbPath)} }`,
    'profiles:',
    '  lab: { bootFiles: { efi-x64: ipxe.efi }, ipxeScript: boot, password: { mode: required, files: [vmlinuz] } }',
    '',
  ].join('\n'));
  // What `bootgate init` does: commands never create a database.
  openStore(dbPath).close();
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[], secrets: string[] = [], interactive = false) {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  const prompts: string[] = [];
  const io: PasswordCliIo = {
    env: {},
    fetch: (() => { throw new Error('no network in this test'); }) as unknown as typeof fetch,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    setExitCode: (c) => { code = c; },
    readSecret: async (p) => { prompts.push(p); return secrets.shift() ?? ''; },
    interactive,
  };
  await yargs(argv).command(createPasswordCommand(io)).strict().exitProcess(false).fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  return { out: out.join(''), err: err.join(''), code, prompts };
}

function storedHash(scope: string): string | undefined {
  const s = openStore(dbPath);
  try {
    return new PasswordRepo(s.db).hashes().find((h) => h.scope === scope)?.hash;
  } finally {
    s.close();
  }
}

test('set from stdin (not a terminal): one line, stored only as a hash', async () => {
  const r = await cli(['password', 'set', '--config', configPath], ['piped-secret-1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /boot password for every gated profile without its own set in database /);
  assert.ok(!r.out.includes('piped-secret-1') && !r.err.includes('piped-secret-1'));
  const h = storedHash('global');
  assert.ok(h && h.startsWith('$scrypt$') && !h.includes('piped-secret-1'));
  assert.equal(await verifyPassword('piped-secret-1', h ?? null), true);
});

test('set on a terminal asks twice; different answers change nothing', async () => {
  const before = storedHash('profile:lab');
  const bad = await cli(['password', 'set', '--profile', 'lab', '--config', configPath], ['typed-one-aa', 'typed-one-bb'], true);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /the two passwords differ; nothing changed/);
  assert.equal(storedHash('profile:lab'), before);
  const ok = await cli(['password', 'set', '--profile', 'lab', '--config', configPath], ['typed-one-aa', 'typed-one-aa'], true);
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(ok.prompts, ['New boot password for profile lab: ', 'Type it again: ']);
  assert.equal(await verifyPassword('typed-one-aa', storedHash('profile:lab') ?? null), true);
});

test('a password that iPXE could not type is refused before anything is stored', async () => {
  const r = await cli(['password', 'set', '--config', configPath], ['äöü-pass-word']);
  assert.equal(r.code, 1);
  assert.match(r.err, /printable ASCII/);
  assert.ok(!r.err.includes('äöü'));
});

test('there is no way to pass the password as an argument', async () => {
  await assert.rejects(cli(['password', 'set', '--password', 'x', '--config', configPath]), /Unknown argument/);
});

test('status, lift and clear', async () => {
  const s = openStore(dbPath);
  new PasswordRepo(s.db).setFailure('mac:52:54:00:77:00:01', { failures: 5, firstAt: Date.now(), lastAt: Date.now(), lockedUntil: Date.now() + 600_000 });
  s.close();
  const st = await cli(['password', 'status', '--config', configPath]);
  assert.match(st.out, /^global password: set \(/);
  assert.match(st.out, /profile lab: gated, asks for the profile password; protects vmlinuz/);
  assert.match(st.out, /mac 52:54:00:77:00:01: 5 wrong, locked until /);
  const json = JSON.parse((await cli(['password', 'status', '--json', '--config', configPath])).out) as { lockouts: unknown[] };
  assert.equal(json.lockouts.length, 1);
  const lift = await cli(['password', 'lift', '52:54:00:77:00:01', '--config', configPath]);
  assert.equal(lift.out, 'mac 52:54:00:77:00:01: lockout lifted (5 wrong passwords forgotten)\n');
  const again = await cli(['password', 'lift', '52:54:00:77:00:01', '--config', configPath]);
  assert.equal(again.code, 1);
  assert.match(again.err, /no wrong passwords recorded/);
  const clear = await cli(['password', 'clear', '--profile', 'lab', '--config', configPath]);
  assert.equal(clear.code, 0, clear.err);
  assert.equal(storedHash('profile:lab'), undefined);
  const unknown = await cli(['password', 'clear', '--profile', 'nope', '--config', configPath]);
  assert.match(unknown.err, /no profile "nope"/);
});

test('the config file is needed to find profiles; a broken one is reported', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'password: { maxFailures: 0 }\n');
  const r = await cli(['password', 'status', '--config', bad]);
  assert.equal(r.code, 1);
  assert.match(r.err, /password\.maxFailures/);
  // validateConfig is what the CLI uses: the same schema as the daemon.
  assert.throws(() => validateConfig({ password: { maxFailures: 0 } }, 't'));
});
