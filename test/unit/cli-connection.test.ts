/**
 * Every admin command group (computers, pending, settings, events, rollout, password) run from another
 * folder with only `-c CONFIG`: against a live daemon found from the config (token from its tokens
 * file), then against the database the config names (relative to the config file, not the working
 * directory). A command with no daemon and no database refuses and creates nothing; refused imports
 * show every problem; an oversized import is refused naming the limit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import yargs from 'yargs';
import { connect, type CliIo } from '../../daemon/cli/index.js';
import { loadConfig } from '../../daemon/config/load.js';
import { adminApi } from '../../daemon/features/admin-api.js';
import { createAdminCommands } from '../../daemon/features/commands.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { openStore } from '../../daemon/store/db.js';
import { freePort } from './helpers/dhcp-client.js';

const TOKEN = 'conn-token-0123456789abcdef';
const BIN = fileURLToPath(new URL('../../daemon/bootgate.js', import.meta.url));
const run = promisify(execFile);

/** conf/ holds the config (relative store path and tokens file), elsewhere/ is the working directory. */
function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'bg-conn-'));
  const conf = join(dir, 'conf');
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(conf);
  mkdirSync(elsewhere);
  writeFileSync(join(conf, 'tokens'), `${TOKEN}\n`);
  const config = join(conf, 'bootgate.yaml');
  const write = (httpPort: number) => writeFileSync(config, [
    'store: { path: data/bootgate.db }',
    'admin: { tokensFile: tokens }',
    `http: { port: ${httpPort}, address: 127.0.0.1 }`,
    'policy: { unknown: { action: pending, profile: winpe } }',
    'profiles:',
    '  winpe:',
    '    kind: required',
    '    bootFiles: { efi-x64: bootmgfw.efi }',
    "    rollout: { startDate: '2020-01-06', timeZone: Europe/Berlin, dailyLimit: 2 }",
    '  linux: {}',
    '',
  ].join('\n'));
  write(1);
  return { dir, conf, elsewhere, config, db: join(conf, 'data', 'bootgate.db'), write, done: () => rmSync(dir, { recursive: true, force: true }) };
}

type Workspace = ReturnType<typeof workspace>;

/** The CLI in this process, as if started in `cwd`. */
async function cli(cwd: string, argv: string[], secrets: string[] = []) {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo & { readSecret: (p: string) => Promise<string>; interactive: boolean } = {
    env: {}, fetch: globalThis.fetch, cwd,
    out: (t) => { out += t; }, err: (t) => { err += t; }, setExitCode: (c) => { code = c; },
    readFile: (p) => readFileSync(p, 'utf8'),
    readSecret: async () => secrets.shift() ?? '', interactive: false,
  };
  await yargs(argv).command(createAdminCommands(io)).strict().exitProcess(false)
    .fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  return { out, err, code };
}

/** A device the policy recorded as pending, written as the daemon's recorder would. */
function knock(db: string, mac: string): void {
  const s = openStore(db);
  s.devices.seen({ mac, guid: null, arch: 'efi-x64', archCode: 7, vendorClass: null, ip: null, firstSeen: 1, lastSeen: 2, attempts: 1 }, true);
  s.close();
}

/**
 * Every command group once, from elsewhere/ with only -c; `way` is what --verbose must name and `actor`
 * who the audit trail must name (the API's token digest, or the CLI on the database).
 */
async function everyGroup(w: Workspace, way: RegExp, actor: RegExp, macs: [string, string]): Promise<void> {
  const c = ['-c', '../conf/bootgate.yaml'];
  const since = new Date().toISOString();
  const at = (argv: string[], secrets: string[] = []) => cli(w.elsewhere, [...argv, ...c], secrets);

  const imp = await at(['computers', 'import', '../conf/computers.csv', '--update', '-v']);
  assert.equal(imp.code, 0, imp.err);
  assert.match(imp.err, way);
  assert.match(imp.out, /: 2 created, 0 updated\n$|: 0 created, 2 updated\n$/);
  assert.deepEqual(JSON.parse((await at(['computers', 'list', '--profile', 'winpe', '--json'])).out).map((x: { name: string }) => x.name), ['PC-1', 'PC-2']);
  assert.match((await at(['computers', 'done', 'PC-1'])).out, /^PC-1: deployment done/);
  assert.equal((await at(['clear', 'PC-1'])).out, 'PC-1: cleared; it network-boots its profile winpe again\n');

  knock(w.db, macs[0]);
  knock(w.db, macs[1]);
  assert.match((await at(['pending', 'list'])).out, new RegExp(`${macs[0]}\\s+pending\\s+efi-x64`));
  const approved = await at(['pending', 'approve', macs[0], '--profile', 'linux']);
  assert.equal(approved.out, `approved ${macs[0]} as pc-${macs[0].replace(/:/g, '')} (profile linux)\n`, approved.err);
  assert.equal((await at(['pending', 'reject', macs[1]])).out, `rejected ${macs[1]}\n`);

  const set = await at(['settings', 'set', '--delay', '4']);
  assert.match(set.out, /response delay:\s+4 s\s+\[set at run time\]/, set.err);
  assert.match((await at(['settings', 'show'])).out, /response delay:\s+4 s/);

  const assigned = await at(['rollout', 'assign', 'PC-2', 'kiosks', '--criticality', '1']);
  assert.equal(assigned.out, 'PC-2  group kiosks  criticality 1  window (group\'s)\n', assigned.err);
  const status = await at(['rollout', 'status', 'winpe']);
  assert.match(status.out, /^kiosks\s+1\s+1\s+0\s+0\s+all admitted$/m, status.err);

  const pw = await at(['password', 'set'], ['boot-secret-1']);
  assert.match(pw.out, /^boot password for every gated profile without its own set in (API|database) /, pw.err);
  assert.equal(JSON.parse((await at(['password', 'status', '--json'])).out).global.set, true);

  const events = JSON.parse((await at(['events', '--type', 'admin', '--since', since, '--json'])).out) as Array<{ actor: string; detail: string }>;
  assert.ok(events.length >= 4, JSON.stringify(events));
  assert.ok(events.every((e) => actor.test(e.actor)), events.map((e) => e.actor).join(' '));
  assert.ok(events.some((e) => e.detail === 'settings: {"responseDelaySeconds":4}'));
}

describe('admin commands from another folder with only -c', () => {
  let w: Workspace;
  let daemon: Daemon | null = null;

  before(async () => {
    w = workspace();
    writeFileSync(join(w.conf, 'computers.csv'), 'Name,MAC,Profile\nPC-1,52:54:00:0c:00:01,winpe\nPC-2,52:54:00:0c:00:02,winpe\n');
    // The daemon resolves the config's paths as one started in conf/ would; DHCP on loopback only.
    const file = loadConfig({ file: w.config });
    const config = {
      ...file,
      root: w.conf,
      store: { ...file.store, path: w.db },
      admin: { ...file.admin, tokensFile: join(w.conf, 'tokens') },
      http: { ...file.http, port: 0 },
      tftp: { ...file.tftp, enabled: false },
      server: { ...file.server, bindAddress: '127.0.0.1', dhcpPort: await freePort(), pxePort: 0, clientPort: await freePort(), broadcastAddress: '127.0.0.1' },
      log: { level: 'silent' as const },
    };
    daemon = await startDaemon({ config, logger: createLogger('silent') });
    w.write(daemon.ports.http ?? 0);
  });

  after(async () => {
    await daemon?.close();
    w.done();
  });

  test('through the live daemon: found from the config, token from its tokens file', async () => {
    const port = daemon?.ports.http;
    await everyGroup(w, new RegExp(`using the admin API at http://127\\.0\\.0\\.1:${port}/api/v1 .*\\n.*token from admin\\.tokensFile ${w.conf}/tokens`), /^api:[0-9a-f]{8}$/,
      ['02:00:00:0c:00:01', '02:00:00:0c:00:02']);
  });

  test('the real executable, started in another folder, finds the daemon too', async () => {
    const r = await run(process.execPath, [BIN, 'computers', 'list', '-c', '../conf/bootgate.yaml', '-v'], { cwd: w.elsewhere });
    assert.match(r.stderr, /using the admin API at http:\/\/127\.0\.0\.1:\d+\/api\/v1/);
    assert.match(r.stdout, /^NAME\s+MACS/);
    assert.match(r.stdout, /^PC-1\s+52:54:00:0c:00:01\s/m);
  });

  test('a refused import shows its one problem, through the API', async () => {
    writeFileSync(join(w.conf, 'one-problem.csv'), 'Name,MAC,Profile\nPC-9,52:54:00:0c:00:09,nope\n');
    const r = await cli(w.elsewhere, ['computers', 'import', '../conf/one-problem.csv', '-c', '../conf/bootgate.yaml']);
    assert.equal(r.code, 1);
    assert.equal(r.err, [
      'bootgate: import refused, nothing was imported: 1 problem',
      '  line 2: profile "nope" is not in the configuration (profiles: winpe, linux, menu)',
      '',
    ].join('\n'));
  });

  test('an oversized body sent anyway gets the limit named, not EPIPE', async () => {
    const conn = await connect({ config: '../conf/bootgate.yaml' }, { env: {}, fetch: globalThis.fetch, cwd: w.elsewhere, out: () => undefined, err: () => undefined, setExitCode: () => undefined });
    try {
      assert.equal(conn.kind, 'api');
      if (conn.kind !== 'api') return;
      const big = `Name,MAC,Profile\n${'x'.repeat(33 * 1024 * 1024)}`;
      // No limit given to the caller: the daemon refuses with 413, or closes while the body is still sent.
      await assert.rejects(conn.api.call('POST', '/computers/import?format=csv', big, { contentType: 'text/csv' }),
        /request body is 33 MB; the limit is 32 MB|closed the connection while a \\d+-byte request body was sent \(\w+\); the body is probably over its size limit/);
    } finally {
      conn.close();
    }
  });

  test('with the daemon stopped: the database the config names, relative to the config file', async () => {
    await daemon?.close();
    daemon = null;
    await everyGroup(w, new RegExp(`using the database ${w.db} \\(store\\.path of ${w.config}, relative to its folder\\)`), /^cli$/,
      ['02:00:00:0c:00:03', '02:00:00:0c:00:04']);
    assert.deepEqual(readdirSync(w.elsewhere), [], 'nothing was created in the working directory');
  });

  test('an oversized import is refused naming the limit, before anything is read by the service', async () => {
    const big = join(w.conf, 'big.csv');
    writeFileSync(big, `Name,MAC,Profile\n${'x'.repeat(33 * 1024 * 1024)}\n`);
    const r = await cli(w.elsewhere, ['computers', 'import', '../conf/big.csv', '-c', '../conf/bootgate.yaml']);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'bootgate: import refused, nothing was imported: ../conf/big.csv is 33 MB; the limit is 32 MB (split the file)\n');
  });
});

test('no daemon and no database: the command refuses, names where it looked, and creates nothing', async () => {
  const w = workspace();
  try {
    const r = await run(process.execPath, [BIN, 'computers', 'list', '-c', '../conf/bootgate.yaml'], { cwd: w.elsewhere }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    assert.equal((r as { code?: number }).code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, [
      `bootgate: no daemon and no database; start the daemon, pass --api URL or --db FILE, or create the database with \`bootgate init -c ${w.config}\`. Looked at:`,
      '  no Bootgate admin API at http://127.0.0.1:1/api/v1 (http.address and http.port)',
      `  no database at ${w.db} (store.path of ${w.config}, relative to its folder)`,
      '',
    ].join('\n'));
    assert.equal(existsSync(join(w.conf, 'data')), false);
    assert.deepEqual(readdirSync(w.elsewhere), []);
    for (const group of [['pending', 'list'], ['settings', 'show'], ['events'], ['rollout', 'members'], ['password', 'status']]) {
      const g = await cli(w.elsewhere, [...group, '-c', '../conf/bootgate.yaml']);
      assert.equal(g.code, 1, group.join(' '));
      assert.match(g.err, new RegExp(`no database at ${w.db} `), group.join(' '));
    }
    const db = await cli(w.elsewhere, ['computers', 'list', '--db', 'nothing.db']);
    assert.equal(db.err, `bootgate: no database at ${join(w.elsewhere, 'nothing.db')} (--db); a command never creates one: \`bootgate init --db ${join(w.elsewhere, 'nothing.db')}\` does\n`);
    assert.deepEqual(readdirSync(w.elsewhere), []);
    assert.equal(existsSync(join(w.conf, 'data')), false);

    const init = await cli(w.elsewhere, ['init', '-c', '../conf/bootgate.yaml']);
    assert.match(init.out, new RegExp(`^created database ${w.db} \\(schema version \\d+\\)\\n$`));
    assert.equal((await cli(w.elsewhere, ['computers', 'list', '-c', '../conf/bootgate.yaml'])).out, 'no computers\n');
  } finally {
    w.done();
  }
});

test('the admin API refuses a body over its limit with 413, naming the size and the limit', async () => {
  const store = openStore(':memory:');
  const cfg = loadConfig({});
  const app = Fastify();
  await app.register(adminApi, { prefix: '/api/v1', backend: { config: () => cfg }, store, cfg, logger: createLogger('silent'), env: { BOOTGATE_ADMIN_TOKEN: TOKEN } });
  try {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const csv = await app.inject({
      method: 'POST', url: '/api/v1/computers/import?format=csv', headers: { ...auth, 'content-type': 'text/csv' }, payload: 'x'.repeat(33 * 1024 * 1024),
    });
    assert.equal(csv.statusCode, 413);
    assert.deepEqual(csv.json(), { statusCode: 413, code: 'ERR_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'request body is 33 MB; the limit is 32 MB' });
    // Any other route has fastify's limit (1 MB here); a body just over it gets exact byte counts.
    const json = await app.inject({ method: 'POST', url: '/api/v1/computers', headers: { ...auth, 'content-type': 'application/json' }, payload: `"${'y'.repeat(1024 * 1024 - 1)}"` });
    assert.equal(json.statusCode, 413);
    assert.equal(json.json().message, 'request body is 1048577 bytes; the limit is 1048576 bytes (1 MB)');
  } finally {
    await app.close();
    store.close();
  }
});
