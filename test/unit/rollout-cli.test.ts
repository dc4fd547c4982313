/**
 * `bootgate rollout ...` on a database file (no daemon) and through the admin API (fetch answered by
 * app.inject, no port): assign, result, halt, resume, status; errors as one message and exit code 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import yargs from 'yargs';
import { loadConfig } from '../../daemon/config/load.js';
import type { CliIo } from '../../daemon/cli/index.js';
import { adminErrorHandler, makeAjv } from '../../daemon/http/admin/errors.js';
import { createLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/store/db.js';
import { rolloutRoutes } from '../../daemon/features/rollout/api.js';
import { createRolloutCommand } from '../../daemon/features/rollout/cli.js';
import { RolloutService } from '../../daemon/features/rollout/service.js';
import { RolloutRepo } from '../../daemon/features/rollout/store.js';
import { inPlace } from '../../daemon/features/feature.js';

/** A rollout that began long ago: every machine is admitted whatever today is, so the output is fixed. */
const CONFIG = `
http: { enabled: false }
store: { path: DB }
profiles:
  win11:
    kind: required
    bootFiles: { efi-x64: win11/bootmgfw.efi }
    rollout: { startDate: '2020-01-06', timeZone: Europe/Berlin, dailyLimit: 2, haltAfter: { failures: 1 } }
`;

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'bg-rollout-cli-'));
  const db = join(dir, 'bootgate.db');
  const config = join(dir, 'bootgate.yaml');
  writeFileSync(config, CONFIG.replace('DB', db));
  const store = openStore(db);
  store.tx(() => {
    for (let i = 1; i <= 3; i += 1) {
      store.computers.insert({ name: `PC-${i}`, macs: [`52:54:00:07:03:0${i}`], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, 1);
    }
  });
  store.close();
  return { dir, db, config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function io(over: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  const value: CliIo = {
    env: {}, fetch: globalThis.fetch, out: (t) => out.push(t), err: (t) => err.push(t), setExitCode: (c) => { code = c; }, readFile: () => '', ...over,
  };
  return { value, out, err, code: () => code };
}

async function bootgate(cli: CliIo, ...argv: string[]): Promise<void> {
  await yargs(argv).command(createRolloutCommand(cli)).strict().exitProcess(false).parseAsync();
}

test('on the database file: assign, results halt a group, resume, status table', async () => {
  const w = workspace();
  try {
    const c = io();
    const at = ['--config', w.config];
    await bootgate(c.value, 'rollout', 'assign', 'PC-1', 'kiosks', '--criticality', '1', ...at);
    await bootgate(c.value, 'rollout', 'assign', '52:54:00:07:03:02', 'kiosks', '--criticality', '2', ...at);
    await bootgate(c.value, 'rollout', 'result', 'PC-2', 'failed', '--detail', 'no disk', ...at);
    await bootgate(c.value, 'rollout', 'resume', 'win11', 'kiosks', ...at);
    await bootgate(c.value, 'rollout', 'result', 'pc-1', 'done', ...at);
    await bootgate(c.value, 'rollout', 'status', 'win11', ...at);
    assert.deepEqual(c.err, []);
    assert.equal(c.code(), 0);
    assert.deepEqual(c.out.slice(0, 5), [
      'PC-1  group kiosks  criticality 1  window (group\'s)\n',
      'PC-2  group kiosks  criticality 2  window (group\'s)\n',
      'PC-2: failed (win11, group kiosks); group kiosks halted: 1 failed deployment (threshold 1)\n',
      `resumed group kiosks of win11 (database ${w.db})\n`,
      'PC-1: done (win11, group kiosks)\n',
    ]);
    const table = (c.out[5] ?? '').split('\n');
    assert.match(table[0] ?? '', /^Rollout of profile win11: day \d+ \(\d{4}-\d{2}-\d{2}\), Europe\/Berlin; 1 per group on day 0, doubling daily, at most 2 a day in all$/);
    assert.deepEqual(table.slice(1, 14), [
      'Every machine is admitted.',
      '',
      'group      machines  admitted  done  failed  state',
      'kiosks            2         2     1       1  all admitted',
      'ungrouped         1         1     0       0  all admitted',
      '',
      'day  date        group      planned  admitted  done  failed',
      '0    2020-01-06  kiosks           1         1     1       0',
      '1    2020-01-07  kiosks           1         1     0       1',
      '0    2020-01-06  ungrouped        1         1     0       0',
      '1    2020-01-07  ungrouped        0         0     0       0',
      '0    2020-01-06  (all)            2         2     1       0',
      '1    2020-01-07  (all)            1         1     0       1',
    ]);
    // The done result consumed the required deployment, as POST /computers/:ref/done does.
    const store = openStore(w.db);
    assert.notEqual(store.computers.byName('PC-1')?.bootOnceConsumedAt, null);
    store.close();
  } finally {
    w.cleanup();
  }
});

test('errors are one message and exit code 1', async () => {
  const w = workspace();
  try {
    const c = io();
    await bootgate(c.value, 'rollout', 'halt', 'win11', 'labs', '--config', w.config);
    assert.deepEqual(c.err, ['bootgate: no group "labs" in the rollout of win11 (groups: ungrouped)\n']);
    assert.equal(c.code(), 1);
  } finally {
    w.cleanup();
  }
});

test('through the admin API when --api is given', async () => {
  const w = workspace();
  const store = openStore(w.db);
  const cfg = loadConfig({ file: w.config });
  const service = new RolloutService(RolloutRepo.open(store), () => cfg);
  const app = Fastify();
  const bodyAjv = makeAjv(false);
  app.setValidatorCompiler(({ schema }) => bodyAjv.compile(schema));
  app.setErrorHandler(adminErrorHandler(createLogger('silent')));
  const seen: string[] = [];
  await app.register(rolloutRoutes(inPlace(service)), { prefix: '/api/v1', actor: (req) => { seen.push(String(req.headers.authorization)); return 'api:test'; } });
  const fakeFetch = (async (url: string, init: RequestInit = {}) => {
    const res = await app.inject({ method: init.method as 'GET', url: url.replace('http://appliance:8080', ''), headers: init.headers as Record<string, string>, payload: init.body as string });
    return new Response(res.statusCode === 204 ? null : res.body, { status: res.statusCode, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  try {
    const c = io({ fetch: fakeFetch, env: { BOOTGATE_ADMIN_TOKEN: 'secret-token-0123456789' } });
    const api = ['--config', w.config, '--api', 'http://appliance:8080/api/v1'];
    await bootgate(c.value, 'rollout', 'assign', 'PC-3', 'labs', ...api);
    await bootgate(c.value, 'rollout', 'halt', 'win11', 'labs', '--reason', 'firmware', ...api);
    await bootgate(c.value, 'rollout', 'status', 'win11', '--json', ...api);
    await bootgate(c.value, 'rollout', 'halt', 'win11', 'labs', ...api);
    assert.deepEqual(c.out.slice(0, 2), ['PC-3  group labs  criticality -  window (group\'s)\n', 'halted group labs of win11 (API http://appliance:8080/api/v1)\n']);
    const st = JSON.parse(c.out[2] ?? '{}');
    assert.deepEqual(st.groups.map((g: { group: string; halt: { reason: string } | null }) => [g.group, g.halt?.reason ?? null]), [['labs', 'firmware'], ['ungrouped', null]]);
    assert.equal(typeof st.groups[0].halt.at, 'number', 'times back to numbers, as on the database path');
    assert.deepEqual(c.err, ['bootgate: group "labs" of win11 is halted already\n']);
    assert.ok(seen.every((h) => h === 'Bearer secret-token-0123456789'));
  } finally {
    await app.close();
    store.close();
    w.cleanup();
  }
});
