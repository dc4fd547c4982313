import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../daemon/config/load.js';
import { buildHttpApp } from '../../daemon/http/app.js';
import { createLogger } from '../../daemon/log.js';
import { readMetricsToken } from '../../daemon/http/metrics-token.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { BootContent } from '../../daemon/boot/content.js';

test('/metrics behind a token: 401 without or with a wrong one, 200 with it; health stays open', async () => {
  let token: string | null = 'scrape-token-0123456789';
  const app = await buildHttpApp({
    logger: createLogger('silent'), metrics: createMetrics(), content: {} as BootContent, root: () => '/nonexistent',
    ready: async () => ({ checks: { root: 'ok' }, missingFiles: [] }), version: '0.0.0-test', adminApi: false, metricsToken: () => token,
  });
  try {
    assert.equal((await app.inject('/metrics')).statusCode, 401);
    assert.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-token-0123456788' } })).statusCode, 401);
    const ok = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-token-0123456789' } });
    assert.equal(ok.statusCode, 200);
    assert.match(ok.body, /bootgate_build_info/);
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.equal((await app.inject('/readyz')).statusCode, 200);
    token = null;
    assert.equal((await app.inject('/metrics')).statusCode, 200, 'no token configured: open');
  } finally {
    await app.close();
  }
});

test('the token file: first non-empty line; a missing or empty file is an error, never an open endpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-mt-'));
  try {
    const f = join(dir, 'token');
    writeFileSync(f, '\n  abc-def-0123456789  \nignored\n');
    assert.equal(readMetricsToken(validateConfig({ http: { metricsTokenFile: f } }, 'x')), 'abc-def-0123456789');
    assert.equal(readMetricsToken(validateConfig({}, 'x')), null);
    writeFileSync(f, '\n\n');
    assert.throws(() => readMetricsToken(validateConfig({ http: { metricsTokenFile: f } }, 'x')), /holds no token/);
    assert.throws(() => readMetricsToken(validateConfig({ http: { metricsTokenFile: join(dir, 'nope') } }, 'x')), /cannot read .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
