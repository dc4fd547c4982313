/**
 * The console's Computers page with 10,000 computers: server time of the first page (sorted by name)
 * and of a search, through the same Fastify route the page calls (inject: no network, so the figure is
 * the server's own). Target: each under 300 ms. Median and worst of 20 runs each, after one warm-up.
 *
 *   npm run build && node dist/bench/console-computers.js [--computers 10000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { validateConfig } from '../daemon/config/load.js';
import { consoleFeature } from '../daemon/features/console/index.js';
import { createLogger } from '../daemon/log.js';
import { openStore } from '../daemon/store/db.js';

const { values } = parseArgs({ options: { computers: { type: 'string', default: '10000' } } });
const n = Number(values.computers);
const dir = mkdtempSync(join(tmpdir(), 'bg-bench-console-'));
const token = 'bench-token-0123456789abcdef';
writeFileSync(join(dir, 'tokens'), `${token}\n`);
const cfg = validateConfig({ admin: { tokensFile: join(dir, 'tokens') }, profiles: { win11: {}, ubuntu: {} } }, 'bench');
const store = openStore(join(dir, 'bench.db'));
const hex = (i: number, w: number) => i.toString(16).padStart(w, '0');
store.tx(() => {
  for (let i = 0; i < n; i++) {
    store.computers.insert({
      name: `pc-${String(i).padStart(5, '0')}`, macs: [`52:54:${hex(i >> 24 & 0xff, 2)}:${hex(i >> 16 & 0xff, 2)}:${hex(i >> 8 & 0xff, 2)}:${hex(i & 0xff, 2)}`],
      guid: `${hex(i, 8)}-0000-4000-8000-000000000000`, profile: i % 3 === 0 ? 'ubuntu' : 'win11', kind: null, notes: `row ${i}`, sourceComputer: null,
    }, Date.now());
  }
});
const attached = consoleFeature.attach({ store, config: () => cfg, logger: createLogger('silent'), registry: new Registry(), macOfIp: () => undefined, sessions: () => [] });
const app = Fastify();
await attached.mount(app);
const signIn = await app.inject({ method: 'POST', url: '/console/api/session', payload: { token } });
const cookie = String(signIn.headers['set-cookie']).split(';')[0] ?? '';

async function measure(label: string, url: string): Promise<void> {
  const times: number[] = [];
  let total = 0;
  for (let i = 0; i < 21; i++) {
    const t0 = process.hrtime.bigint();
    const res = await app.inject({ method: 'GET', url, headers: { cookie } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    total = (res.json() as { total: number }).total;
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  const worst = times[times.length - 1] ?? 0;
  console.log(`| ${label} | ${total} | ${median.toFixed(1)} | ${worst.toFixed(1)} | ${worst < 300 ? 'met' : 'NOT met'} |`);
}

console.log(`${n} computers, ${new Date().toISOString()}\n`);
console.log('| request | matches | median ms | worst ms | target < 300 ms |\n|---|---:|---:|---:|---|');
await measure('first page (50, by name)', '/console/api/computers?sort=name&limit=50');
await measure('search "pc-0999" (by name)', '/console/api/computers?q=pc-0999&limit=50');
await measure('search a MAC fragment', '/console/api/computers?q=52:54:00:00:27&limit=50');
await measure('last page, by last change, descending', `/console/api/computers?sort=updated&order=desc&offset=${Math.max(0, n - 50)}&limit=50`);
attached.close?.();
await app.close();
store.close();
rmSync(dir, { recursive: true, force: true });
