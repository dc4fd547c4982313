/**
 * Admin tokens out of the box: the first start with no token configured writes one read-write token
 * to `admin-tokens` beside the store (mode 0600, created whole, never overwritten) and logs the path,
 * never the token; the CLI on the same host finds it through the same config with no extra flag;
 * `bootgate token new` appends (read-only ones too, named), `bootgate token path` says where.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import type { CliIo } from '../../daemon/cli/index.js';
import { loadConfig, validateConfig } from '../../daemon/config/load.js';
import { createAdminCommands } from '../../daemon/features/commands.js';
import { addToken, bootstrapAdminToken, createFileOnce } from '../../daemon/features/tokens/service.js';
import { adminTokensFile, parseTokens } from '../../daemon/http/admin/auth.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { freePort } from './helpers/dhcp-client.js';

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger('info', { write: (s: string) => { lines.push(s); } }) };
}

const tokensIn = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

test('bootstrap: no token configured: one read-write token in admin-tokens beside the store, 0600, path logged, token never', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = validateConfig({ store: { path: join(dir, 'bootgate.db') } }, 'test');
  const { lines, logger } = capture();
  const file = bootstrapAdminToken(cfg, {}, logger);
  assert.deepEqual(file, { path: join(dir, 'admin-tokens'), configured: false });
  const st = statSync(join(dir, 'admin-tokens'));
  assert.equal(st.mode & 0o777, 0o600);
  const text = readFileSync(join(dir, 'admin-tokens'), 'utf8');
  const toks = tokensIn(text);
  assert.equal(toks.length, 1);
  const parsed = parseTokens(text, 'admin-tokens');
  assert.deepEqual(parsed.problems, []);
  assert.equal([...parsed.tokens.values()][0]?.readOnly, false);
  const token = toks[0] as string;
  assert.ok(token.length >= 40);
  const logged = lines.join('');
  assert.ok(logged.includes(join(dir, 'admin-tokens')), logged);
  assert.ok(!logged.includes(token), 'the token is never logged');
  // Nothing left behind but the file itself (the temporary name is gone).
  assert.deepEqual(readdirSync(dir), ['admin-tokens']);
});

test('bootstrap: an existing file, even an empty one, is never overwritten; a second start changes nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = validateConfig({ store: { path: join(dir, 'bootgate.db') } }, 'test');
  const quiet = createLogger('silent');
  bootstrapAdminToken(cfg, {}, quiet);
  const first = readFileSync(join(dir, 'admin-tokens'), 'utf8');
  const { lines, logger } = capture();
  bootstrapAdminToken(cfg, {}, logger);
  assert.equal(readFileSync(join(dir, 'admin-tokens'), 'utf8'), first);
  assert.equal(lines.length, 0, 'nothing written, nothing said');

  const other = join(dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'admin-tokens'), '');
  bootstrapAdminToken(validateConfig({ store: { path: join(other, 'bootgate.db') } }, 'test'), {}, quiet);
  assert.equal(readFileSync(join(other, 'admin-tokens'), 'utf8'), '');
  assert.equal(createFileOnce(join(other, 'admin-tokens'), 'x\n'), false);
  assert.equal(readFileSync(join(other, 'admin-tokens'), 'utf8'), '');
});

test('bootstrap: BOOTGATE_ADMIN_TOKEN set, an in-memory store, or the admin API off: no file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = createLogger('silent');
  bootstrapAdminToken(validateConfig({ store: { path: join(dir, 'bootgate.db') } }, 'test'), { BOOTGATE_ADMIN_TOKEN: 'env-token-0123456789abcdef' }, quiet);
  bootstrapAdminToken(validateConfig({ store: { path: join(dir, 'bootgate.db') }, admin: { enabled: false } }, 'test'), {}, quiet);
  assert.equal(bootstrapAdminToken(validateConfig({ store: { path: ':memory:' } }, 'test'), {}, quiet), null);
  assert.deepEqual(readdirSync(dir), []);
});

test('bootstrap: admin.tokensFile names the file; a file that cannot be written is a warning, not a crash', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = validateConfig({ store: { path: join(dir, 'db', 'bootgate.db') }, admin: { tokensFile: join(dir, 'tokens') } }, 'test');
  assert.deepEqual(adminTokensFile(cfg), { path: join(dir, 'tokens'), configured: true });
  bootstrapAdminToken(cfg, {}, createLogger('silent'));
  assert.equal(tokensIn(readFileSync(join(dir, 'tokens'), 'utf8')).length, 1);
  const { lines, logger } = capture();
  bootstrapAdminToken(validateConfig({ store: { path: join(dir, 'missing', 'dir', 'bootgate.db') } }, 'test'), {}, logger);
  assert.match(lines.join(''), /"code":"ENOENT".*cannot write the admin tokens file/);
});

test('addToken: appends after a file without a final newline; names and read-only marks survive parsing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'admin-tokens');
  writeFileSync(file, 'existing-token-0123456789', { mode: 0o600 });
  const ro = addToken(file, { readOnly: true, name: 'grafana' });
  const rw = addToken(file, { readOnly: false, name: null });
  assert.equal(ro.created, false);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^existing-token-0123456789\n# grafana: read-only, added \S+\n\S+:ro\n# read-write, added \S+\n\S+\n$/);
  const parsed = parseTokens(text, file);
  assert.deepEqual(parsed.problems, []);
  assert.equal(parsed.tokens.size, 3);
  assert.deepEqual([...parsed.tokens.values()].map((i) => i.readOnly), [false, true, false]);
  assert.ok(text.includes(`${ro.token}:ro\n`) && text.includes(`${rw.token}\n`));
  const fresh = addToken(join(dir, 'new-file'), { readOnly: false, name: null });
  assert.equal(fresh.created, true);
  assert.equal(statSync(join(dir, 'new-file')).mode & 0o777, 0o600);
});

/** The CLI in this process, started in `cwd`, with `defaultConfig` standing in for /etc/bootgate/bootgate.yaml. */
async function cli(cwd: string, argv: string[], defaultConfig: string | null = null) {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = {
    env: {}, fetch: globalThis.fetch, cwd, defaultConfig,
    out: (s) => { out += s; }, err: (s) => { err += s; }, setExitCode: (c) => { code = c; },
    readFile: (p) => readFileSync(p, 'utf8'),
  };
  await yargs(argv).command(createAdminCommands(io)).strict().exitProcess(false)
    .fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  return { out, err, code };
}

describe('a daemon with no token configured, and the CLI on the same host', () => {
  let dir: string;
  let config: string;
  let daemon: Daemon | null = null;
  const log = capture();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bg-tok-daemon-'));
    mkdirSync(join(dir, 'conf'));
    mkdirSync(join(dir, 'elsewhere'));
    config = join(dir, 'conf', 'bootgate.yaml');
    // The store beside the config (relative to its folder), no admin.tokensFile.
    const write = (port: number) => writeFileSync(config, `store: { path: data/bootgate.db }\nhttp: { port: ${port}, address: 127.0.0.1 }\n`);
    write(1);
    const file = loadConfig({ file: config, env: {} });
    daemon = await startDaemon({
      config: {
        ...file,
        root: join(dir, 'conf'),
        http: { ...file.http, port: 0 },
        tftp: { ...file.tftp, enabled: false },
        server: { ...file.server, bindAddress: '127.0.0.1', dhcpPort: await freePort(), pxePort: 0, clientPort: await freePort(), broadcastAddress: '127.0.0.1' },
      },
      logger: log.logger,
    });
    write(daemon.ports.http ?? 0);
  });

  after(async () => {
    await daemon?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the first start wrote the token beside the store and logged where, not what', () => {
    const file = join(dir, 'conf', 'data', 'admin-tokens');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const token = tokensIn(readFileSync(file, 'utf8'))[0] as string;
    const logged = log.lines.join('');
    assert.match(logged, new RegExp(`"file":"${file}".*wrote a read-write admin API token`));
    assert.ok(!logged.includes(token));
  });

  test('the CLI finds the daemon and the token with only -c, from another folder', async () => {
    const r = await cli(join(dir, 'elsewhere'), ['computers', 'list', '-c', '../conf/bootgate.yaml', '-v']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, new RegExp(`token from the tokens file beside the store ${join(dir, 'conf', 'data', 'admin-tokens')}`));
    assert.equal(r.out, 'no computers\n');
  });

  test('without -c, the default config file is read when it exists', async () => {
    const r = await cli(join(dir, 'elsewhere'), ['token', 'path'], config);
    assert.equal(r.out, `${join(dir, 'conf', 'data', 'admin-tokens')}\n`, r.err);
    const none = await cli(join(dir, 'elsewhere'), ['token', 'path', '--json'], join(dir, 'no-such.yaml'));
    assert.deepEqual(JSON.parse(none.out), { path: join(dir, 'elsewhere', 'data', 'admin-tokens'), exists: false });
  });

  test('token new --read-only: printed once, appended, honoured by the daemon (reads yes, changes 403)', async () => {
    const made = await cli(join(dir, 'elsewhere'), ['token', 'new', '--read-only', '--name', 'dashboard', '-c', '../conf/bootgate.yaml']);
    assert.equal(made.code, 0, made.err);
    const token = made.out.trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.match(made.err, /added to .*admin-tokens: a read-only token \(api:[0-9a-f]{8} in the audit trail\)/);
    assert.ok(readFileSync(join(dir, 'conf', 'data', 'admin-tokens'), 'utf8').includes(`# dashboard: read-only, added `));
    const base = `http://127.0.0.1:${daemon?.ports.http}/api/v1`;
    // The daemon re-reads the file at most every 2 s: ask until it is accepted, slowly enough that the
    // refusals meanwhile stay under the failure limit (10 a minute), bounded.
    let status = 0;
    for (let i = 0; i < 8 && status !== 200; i++) {
      status = (await fetch(`${base}/computers`, { headers: { authorization: `Bearer ${token}` } })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 600));
    }
    assert.equal(status, 200);
    const change = await fetch(`${base}/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"responseDelaySeconds":1}' });
    assert.equal(change.status, 403);
    const bad = await cli(join(dir, 'elsewhere'), ['token', 'new', '--name', 'two\nlines', '-c', '../conf/bootgate.yaml']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /a token name is one line/);
  });
});
