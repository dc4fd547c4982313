/**
 * The admin CLI, on the database directly and through a running admin API (found by --api or by the
 * config's HTTP port), with the same results and the same error messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import yargs from 'yargs';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import type { CliIo } from '../../daemon/cli/index.js';
import { createAdminCommands } from '../../daemon/features/commands.js';
import { adminApi } from '../../daemon/features/admin-api.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore } from '../../daemon/store/db.js';

const TOKEN = 'cli-token-0123456789abcdef';

function workspace(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'bg-cli-'));
  const dbPath = join(dir, 'bootgate.db');
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `${TOKEN}\n`);
  const config = join(dir, 'bootgate.yaml');
  const write = (httpPort: number) => writeFileSync(config, [
    `store: { path: ${JSON.stringify(dbPath)} }`,
    `admin: { tokensFile: ${JSON.stringify(tokens)} }`,
    `http: { port: ${httpPort}, address: 127.0.0.1 }`,
    'policy: { unknown: { action: pending, profile: winpe } }',
    'profiles:',
    '  winpe: { kind: required, bootOnceMarker: sources/boot.wim }',
    '  linux: {}',
    extra,
  ].join('\n'));
  write(1);
  // What `bootgate init` does: commands never create a database.
  openStore(dbPath).close();
  return { dir, dbPath, config, write, done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = {
    env, fetch: globalThis.fetch,
    out: (t) => { out += t; }, err: (t) => { err += t; }, setExitCode: (c) => { code = c; },
    readFile: (p) => readFileSync(p, 'utf8'),
  };
  await yargs(argv).command(createAdminCommands(io)).strict().exitProcess(false)
    .fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  return { out, err, code };
}

test('cli on the database: import, list, show, approve, reject, clear, done, settings, events', async () => {
  const w = workspace();
  try {
    const base = ['--config', w.config];
    const imp = await cli(['computers', 'import', 'config/computers.example.csv', ...base]);
    assert.deepEqual([imp.code, imp.out], [0, `imported into database ${w.dbPath}: 4 created, 0 updated\n`]);
    const list = await cli(['computers', 'list', '--json', ...base]);
    assert.deepEqual(JSON.parse(list.out).map((c: { name: string }) => c.name), ['LAB-PC-001', 'LAB-PC-002', 'LAB-PC-003', 'LAB-PC-004']);
    const table = await cli(['computers', 'list', ...base]);
    assert.match(table.out, /^NAME\s+MACS\s+SMBIOS GUID\s+PROFILE\s+KIND\s+BOOT ONCE\nLAB-PC-001\s+52:54:00:77:00:01\s/);

    // A device recorded by the daemon's policy, approved and rejected from the CLI.
    const s = openStore(w.dbPath);
    for (const mac of ['02:00:00:00:00:01', '02:00:00:00:00:02']) {
      s.devices.seen({ mac, guid: null, arch: 'bios', archCode: 0, vendorClass: null, ip: null, firstSeen: 1, lastSeen: 2, attempts: 3 }, true);
    }
    s.close();
    assert.match((await cli(['pending', 'list', ...base])).out, /02:00:00:00:00:01\s+pending\s+bios/);
    const ok = await cli(['pending', 'approve', '02:00:00:00:00:01', '--profile', 'linux', '--name', 'NEW-1', ...base]);
    assert.equal(ok.out, 'approved 02:00:00:00:00:01 as NEW-1 (profile linux)\n');
    assert.equal((await cli(['pending', 'reject', '02-00-00-00-00-02', ...base])).out, 'rejected 02:00:00:00:00:02\n');
    assert.match((await cli(['pending', 'list', '--rejected', ...base])).out, /02:00:00:00:00:02\s+rejected/);

    assert.match((await cli(['computers', 'done', 'LAB-PC-001', ...base])).out, /LAB-PC-001: deployment done/);
    assert.match((await cli(['computers', 'show', '52:54:00:77:00:01', ...base])).out, /boot once:\s+done /);
    assert.equal((await cli(['clear', '52:54:00:77:00:01', ...base])).out, 'LAB-PC-001: cleared; it network-boots its profile winpe again\n');

    const set = await cli(['settings', 'set', '--answering', 'false', '--interfaces', 'br0,eth1', ...base]);
    assert.match(set.out, /answering:\s+no \(maintenance\)\s+\[set at run time\]/);
    assert.match(set.out, /interfaces:\s+br0, eth1/);
    const events = JSON.parse((await cli(['events', '--type', 'admin', '--json', ...base])).out) as Array<{ actor: string; detail: string }>;
    assert.equal(events[0]?.detail, 'settings: {"answering":false,"interfaces":["br0","eth1"]}');
    assert.ok(events.every((e) => e.actor === 'cli'));
  } finally {
    w.done();
  }
});

test('cli: errors are one message plus every problem, exit code 1, nothing changed', async () => {
  const w = workspace();
  try {
    const bad = join(w.dir, 'bad.csv');
    writeFileSync(bad, 'Name,MAC,Profile\nPC-1,52:54:00:00:00:01,winpe\nPC 2,52:54:00:00:00:01,nope\n');
    const r = await cli(['computers', 'import', bad, '--db', w.dbPath, '--config', w.config]);
    assert.equal(r.code, 1);
    assert.equal(r.err, [
      'bootgate: import refused, nothing was imported: 3 problems',
      '  line 3: name "PC 2" is not a valid computer name (letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters)',
      '  line 3: profile "nope" is not in the configuration (profiles: winpe, linux, menu)',
      '  line 3: MAC 52:54:00:00:00:01 is also on line 2',
      '',
    ].join('\n'));
    assert.equal((await cli(['computers', 'list', '--json', '--db', w.dbPath, '--config', w.config])).out, '[]\n');
    const txt = join(w.dir, 'machines.txt');
    writeFileSync(txt, 'PC-1,52:54:00:00:00:01,,winpe\n');
    const fmt = await cli(['computers', 'import', txt, '--db', w.dbPath]);
    assert.equal(fmt.err, `bootgate: cannot tell the format of ${txt} from its name; add --format csv or --format yaml\n`);
    assert.equal((await cli(['computers', 'import', txt, '--format', 'csv', '--db', w.dbPath, '--config', w.config])).out, `imported into database ${w.dbPath}: 1 created, 0 updated\n`);
    const settings = await cli(['settings', 'set', '--db', w.dbPath]);
    assert.equal(settings.err, 'bootgate: nothing to set: give --answering, --delay, --interfaces or --reset\n');
    const since = await cli(['events', '--since', 'yesterday', '--db', w.dbPath]);
    assert.equal(since.err, 'bootgate: --since "yesterday" is not a time (ISO 8601, e.g. 2025-01-31T12:00:00Z)\n');
  } finally {
    w.done();
  }
});

test('cli through the admin API: --api with a token, and found automatically from the config', async () => {
  const w = workspace();
  const logger = createLogger('silent');
  const store = openStore(w.dbPath);
  const cfg = validateConfig({ admin: { tokensFile: join(w.dir, 'tokens') }, profiles: { winpe: { kind: 'required' }, linux: {} }, policy: { unknown: { action: 'pending', profile: 'winpe' } } }, 'test');
  const backend = createStoreBackend(cfg, store, { logger, metrics: createMetrics(new Registry()) });
  const app = Fastify();
  await app.register(adminApi, { prefix: '/api/v1', backend, store, cfg, logger, env: {} });
  // An HTTP admin server on loopback only (no DHCP/TFTP traffic involved).
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const port = (app.server.address() as { port: number }).port;
    const api = `http://127.0.0.1:${port}/api/v1`;
    const imp = await cli(['computers', 'import', 'config/computers.example.yaml', '--api', api, '--token', TOKEN]);
    assert.equal(imp.out, `imported into API ${api}: 2 created, 0 updated\n`);
    assert.equal(backend.snapshot().inventory.byMac.get('52:54:00:77:01:11')?.name, 'LAB-PC-101', 'the daemon saw it at once');

    const err = await cli(['computers', 'import', 'config/computers.example.yaml', '--api', api], { BOOTGATE_ADMIN_TOKEN: TOKEN });
    assert.equal(err.code, 1);
    assert.equal(err.err, [
      'bootgate: import refused, nothing was imported: 2 problems',
      '  item 1 (line 6): computer "LAB-PC-101" already exists (import with update to replace it)',
      '  item 2 (line 12): computer "LAB-PC-102" already exists (import with update to replace it)',
      '',
    ].join('\n'));
    const wrong = await cli(['computers', 'list', '--api', api, '--token', 'wrong-token-0123456789']);
    assert.equal(wrong.err, 'bootgate: invalid token\n');

    // No --api, no --db: the config's HTTP port has a daemon, and the token comes from its tokens file.
    w.write(port);
    const auto = await cli(['settings', 'set', '--delay', '5', '--config', w.config]);
    assert.equal(auto.code, 0);
    assert.equal(backend.settings().responseDelaySeconds, 5);
    const ev = JSON.parse((await cli(['events', '--type', 'admin', '--limit', '1', '--json', '--config', w.config])).out) as Array<{ actor: string }>;
    assert.match(ev[0]?.actor ?? '', /^api:[0-9a-f]{8}$/, 'went through the API');
  } finally {
    await app.close();
    backend.close();
    store.close();
  }
  try {
    // The daemon is gone: the same command works on the database file.
    const direct = await cli(['computers', 'list', '--json', '--config', w.config]);
    assert.equal(JSON.parse(direct.out).length, 2);
    const ev = JSON.parse((await cli(['settings', 'set', '--delay', '6', '--json', '--config', w.config])).out) as { effective: { responseDelaySeconds: number } };
    assert.equal(ev.effective.responseDelaySeconds, 6);
  } finally {
    w.done();
  }
});
