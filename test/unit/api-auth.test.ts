/**
 * Admin API authentication: 401 without a valid token, 403 for a read-only token on a change, 429
 * after repeated failures, tokens from a file (rotated without restart) and the environment, never logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { validateConfig } from '../../daemon/config/load.js';
import { adminApi } from '../../daemon/features/admin-api.js';
import { parseTokens } from '../../daemon/http/admin/auth.js';
import { createLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/store/db.js';

const RW = 'rw-token-0123456789abcdef';
const RO = 'ro-token-0123456789abcdef';
const ENV = 'env-token-0123456789abcdef';

async function setup(opts: { tokensFile?: string | null; env?: Record<string, string> } = {}) {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (s: string) => { lines.push(s); } });
  const cfg = validateConfig({ admin: { tokensFile: opts.tokensFile ?? null }, profiles: { winpe: {} } }, 'test');
  const store = openStore(':memory:');
  let t = 1_700_000_000_000;
  const app = Fastify();
  await app.register(adminApi, {
    prefix: '/api/v1', backend: { config: () => cfg }, store, cfg, logger, env: opts.env ?? {}, now: () => t, authFailuresMax: 3, authFailureWindowMs: 60_000,
  });
  await app.ready();
  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, token?: string, payload?: unknown) =>
    app.inject({ method, url: `/api/v1${url}`, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });
  return {
    app, call, lines,
    advance: (ms: number) => { t += ms; },
    done: async () => { await app.close(); store.close(); },
  };
}

function withTokensFile(text: string): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tokens-'));
  const file = join(dir, 'tokens');
  writeFileSync(file, text);
  return { file, dir };
}

test('auth: no token 401 with WWW-Authenticate; wrong token 401; right token 200', async () => {
  const s = await setup({ env: { BOOTGATE_ADMIN_TOKEN: ENV } });
  try {
    const none = await s.call('GET', '/computers');
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.deepEqual(none.json(), { statusCode: 401, code: 'ERR_AUTH', error: 'Unauthorized', message: 'missing bearer token (Authorization: Bearer <token>)' });
    const basic = await s.app.inject({ url: '/api/v1/computers', headers: { authorization: `Basic ${ENV}` } });
    assert.equal(basic.statusCode, 401);
    const wrong = await s.call('GET', '/computers', 'wrong-token-0123456789');
    assert.deepEqual([wrong.statusCode, wrong.json().message], [401, 'invalid token']);
    assert.equal((await s.call('GET', '/computers', ENV)).statusCode, 200);
  } finally {
    await s.done();
  }
});

test('auth: read-only tokens read but cannot change anything (403)', async () => {
  const f = withTokensFile(`# admin tokens\n${RW}\n${RO}:ro\n\n`);
  const s = await setup({ tokensFile: f.file });
  try {
    assert.equal((await s.call('GET', '/settings', RO)).statusCode, 200);
    const patch = await s.call('PATCH', '/settings', RO, { answering: false });
    assert.deepEqual([patch.statusCode, patch.json().code], [403, 'ERR_READ_ONLY']);
    const post = await s.call('POST', '/computers', RO, { name: 'A', macs: ['52:54:00:00:00:01'], profile: 'winpe' });
    assert.equal(post.statusCode, 403);
    assert.equal((await s.call('PATCH', '/settings', RW, { answering: false })).statusCode, 200);
  } finally {
    await s.done();
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('auth: repeated failures from one address get 429 until the window passes, even with a valid token', async () => {
  const s = await setup({ env: { BOOTGATE_ADMIN_TOKEN: ENV } });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await s.call('GET', '/computers', `guess-${i}-0123456789abcdef`)).statusCode, 401);
    const blocked = await s.call('GET', '/computers', ENV);
    assert.equal(blocked.statusCode, 429);
    assert.equal(blocked.headers['retry-after'], '60');
    assert.equal(blocked.json().code, 'ERR_AUTH_LIMIT');
    s.advance(30_000);
    assert.equal((await s.call('GET', '/computers', ENV)).headers['retry-after'], '30');
    s.advance(30_001);
    assert.equal((await s.call('GET', '/computers', ENV)).statusCode, 200);
  } finally {
    await s.done();
  }
});

test('auth: the tokens file is re-read when it changes (rotation without restart)', async () => {
  const f = withTokensFile(`${RW}\n`);
  const s = await setup({ tokensFile: f.file });
  try {
    assert.equal((await s.call('GET', '/computers', RW)).statusCode, 200);
    writeFileSync(f.file, `${RO}:ro\n`);
    utimesSync(f.file, new Date(), new Date(Date.now() + 5000));
    s.advance(2500);
    assert.equal((await s.call('GET', '/computers', RW)).statusCode, 401, 'the old token is gone');
    assert.equal((await s.call('GET', '/computers', RO)).statusCode, 200);
  } finally {
    await s.done();
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('auth: no tokens configured refuses everything; the OpenAPI document is public', async () => {
  const s = await setup();
  try {
    assert.equal((await s.call('GET', '/computers', ENV)).statusCode, 401);
    const doc = await s.app.inject({ url: '/api/v1/openapi.json' });
    assert.equal(doc.statusCode, 200);
    const body = doc.json();
    assert.equal(body.openapi, '3.0.3');
    assert.deepEqual(body.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
    assert.ok(body.paths['/api/v1/computers/import'].post, 'routes are documented');
    assert.ok(s.lines.some((l) => l.includes('no admin API tokens configured')));
  } finally {
    await s.done();
  }
});

test('auth: tokens file lines: short or malformed tokens are ignored with the line number, never the token', () => {
  const { tokens, problems } = parseTokens(`short\n${RW}:rw\n${RO}:ro\nbad token with spaces 0123456789\n`, 'tokens.txt');
  assert.equal(tokens.size, 2);
  assert.deepEqual([...tokens.values()].map((t) => t.readOnly), [false, true]);
  assert.ok([...tokens.values()].every((t) => /^api:[0-9a-f]{8}$/.test(t.actor)));
  assert.deepEqual(problems, [
    'tokens.txt line 1: token ignored (needs at least 16 characters of letters, digits and ._~+/=-)',
    'tokens.txt line 4: token ignored (needs at least 16 characters of letters, digits and ._~+/=-)',
  ]);
});

test('auth: tokens never reach the log or the audit trail', async () => {
  const f = withTokensFile(`${RW}\n${RO}:ro\nshort-secret\n`);
  const s = await setup({ tokensFile: f.file, env: { BOOTGATE_ADMIN_TOKEN: ENV } });
  try {
    await s.call('GET', '/computers', 'wrong-token-0123456789');
    await s.call('PATCH', '/settings', RW, { answering: false });
    await s.call('PATCH', '/settings', RO, { answering: true });
    await s.call('PATCH', '/settings', ENV, { responseDelaySeconds: 2 });
    const events = (await s.call('GET', '/events?type=admin', RO)).json().events as Array<{ actor: string }>;
    assert.equal(events.length, 2);
    assert.ok(events.every((e) => /^api:[0-9a-f]{8}$/.test(e.actor)));
    const all = s.lines.join('\n') + JSON.stringify(events);
    for (const secret of [RW, RO, ENV, 'wrong-token-0123456789', 'short-secret']) assert.ok(!all.includes(secret), `${secret} leaked`);
    assert.ok(s.lines.some((l) => l.includes('invalid token')), 'failures are logged, without the token');
  } finally {
    await s.done();
    rmSync(f.dir, { recursive: true, force: true });
  }
});
