/**
 * A host list with target_session_attrs against real throwaway clusters on 127.0.0.1: a primary and
 * its streaming standby (pg_basebackup -R). The appliance's store (statement worker, change feed,
 * pool) picks the writable server whichever order the list names them in; the other attributes pick
 * what they say. When the primary goes away and the standby is promoted, the appliance follows: its
 * link reconnects to the new primary, admin writes and the snapshot work there.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { connectPg } from '../../daemon/store/pg-conn.js';
import type { PgSyncDb } from '../../daemon/store/pg-sync.js';
import { startPgCluster, type PgCluster } from '../lab/postgres.js';

const logger = createLogger('silent');
const BOUND_MS = 120_000;
let primary: PgCluster;
let standby: PgCluster;

before(() => {
  primary = startPgCluster({ tcp: true });
  standby = startPgCluster({ tcp: true, standbyOf: primary });
});
after(() => {
  standby?.destroy();
  primary?.destroy();
});

const list = (first: PgCluster, second: PgCluster, attrs: string) =>
  `postgres://postgres@127.0.0.1:${first.port},127.0.0.1:${second.port}/bootgate?sslmode=disable&target_session_attrs=${attrs}`;

async function portOf(url: string): Promise<number> {
  const c = await connectPg({ url });
  try {
    return Number((await c.query('SELECT inet_server_port() AS p')).rows[0].p);
  } finally {
    await c.end();
  }
}

function serverPort(store: Store): number {
  return Number((store.db as PgSyncDb).query('SELECT inet_server_port() AS p').rows[0]?.p);
}

function until(cond: () => boolean, what: string, ms = BOUND_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = setInterval(() => {
      if (cond()) { clearInterval(tick); resolve(); return; }
      if (Date.now() > deadline) { clearInterval(tick); reject(new Error(`timed out waiting for ${what}`)); }
    }, 20);
  });
}

test('target_session_attrs picks the server it names, in either order', async () => {
  assert.equal(standby.psql('SHOW transaction_read_only'), 'on', 'the standby is a real read-only standby');
  for (const [a, b] of [[standby, primary], [primary, standby]] as const) {
    assert.equal(await portOf(list(a, b, 'read-write')), primary.port);
    assert.equal(await portOf(list(a, b, 'primary')), primary.port);
    assert.equal(await portOf(list(a, b, 'read-only')), standby.port);
    assert.equal(await portOf(list(a, b, 'standby')), standby.port);
    assert.equal(await portOf(list(a, b, 'prefer-standby')), standby.port);
    assert.equal(await portOf(list(a, b, 'any')), a.port, 'any: the first that answers');
  }
  // A host that does not answer is passed over (a closed port on loopback).
  const dead = `postgres://postgres@127.0.0.1:1,127.0.0.1:${standby.port},127.0.0.1:${primary.port}/bootgate?sslmode=disable&target_session_attrs=read-write`;
  assert.equal(await portOf(dead), primary.port);
  // prefer-standby with no standby in the list: any server will do.
  assert.equal(await portOf(`postgres://postgres@127.0.0.1:${primary.port}/bootgate?sslmode=disable&target_session_attrs=prefer-standby`), primary.port);
  // Nothing fits: the error names each server and why.
  await assert.rejects(connectPg({ url: `postgres://postgres@127.0.0.1:1,127.0.0.1:${standby.port}/bootgate?sslmode=disable&target_session_attrs=read-write` }),
    (e: Error) => /no server of 2 suitable: 127\.0\.0\.1:1: .*ECONNREFUSED.*; 127\.0\.0\.1:\d+: read-only \(target_session_attrs=read-write\)/.test(e.message));
  assert.throws(() => openStore(`postgres://postgres@127.0.0.1:${standby.port}/bootgate?sslmode=disable&target_session_attrs=read-write`),
    (e: Error) => e.name === 'StoreError' && /^store\.url .*read-only \(target_session_attrs=read-write\)/.test(e.message));
});

test('the appliance works on the writable server whatever the order, and follows a promoted standby', async () => {
  const cfg = validateConfig({ policy: { unknown: { action: 'pending', profile: 'p' } }, profiles: { p: { bootFiles: { 'efi-x64': 'b.efi' } } } }, 'test');
  const url = list(standby, primary, 'read-write');
  const store = openStore(url, { serverName: 'a' });
  const reversed = openStore(list(primary, standby, 'read-write'), { serverName: 'b' });
  const backend = createStoreBackend(cfg, store, { logger, metrics: createMetrics(new Registry()), flushIntervalMs: 100, link: { pingMs: 300, backoff: { minMs: 100, maxMs: 500 } } });
  const gate = new Gatekeeper(backend, logger, createMetrics(new Registry()));
  const client = (mac: string): ClientInfo => ({ mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient', ip: null, door: 'dhcp' });
  try {
    assert.equal(serverPort(store), primary.port, 'standby listed first, the primary chosen');
    assert.equal(serverPort(reversed), primary.port);
    reversed.close();
    store.durable(() => store.computers.insert({ name: 'PC-1', macs: ['52:54:00:00:00:01'], guid: null, profile: 'p', kind: null, notes: '', sourceComputer: null }, Date.now()));
    store.notify('inventory');
    await until(() => gate.decide(client('52:54:00:00:00:01')).reason === 'known', 'PC-1 in the snapshot');
    await until(() => standby.psql("SELECT count(*) FROM computers WHERE name = 'PC-1'") === '1', 'PC-1 replicated to the standby');

    // Failover: the primary goes away, the standby is promoted.
    const t0 = Date.now();
    primary.stop();
    await until(() => !backend.health().up, 'the link to notice the primary gone');
    // Known machines keep their answers from the snapshot meanwhile.
    assert.equal(gate.decide(client('52:54:00:00:00:01')).reason, 'known');
    standby.promote();
    await until(() => backend.health().up, 'the link to reach the promoted standby');
    const took = Date.now() - t0;
    let wrote = false;
    for (let i = 0; i < 50 && !wrote; i += 1) {
      try {
        store.durable(() => store.computers.insert({ name: 'PC-2', macs: ['52:54:00:00:00:02'], guid: null, profile: 'p', kind: null, notes: '', sourceComputer: null }, Date.now()));
        wrote = true;
      } catch (err) {
        // At most the first statement after the failover meets the old connection's end.
        assert.match((err as Error).message, /terminat|connection|unreachable|read-only/i);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(wrote, 'an admin write reaches the new primary');
    assert.equal(serverPort(store), standby.port, 'the statement worker is on the promoted standby');
    store.notify('inventory');
    await until(() => gate.decide(client('52:54:00:00:00:02')).reason === 'known', 'PC-2 in the snapshot, read from the new primary');
    assert.equal(standby.psql("SELECT count(*) FROM computers WHERE name IN ('PC-1', 'PC-2')"), '2');
    console.log(`failover followed: link up again ${took} ms after the primary stopped (promotion included)`);
  } finally {
    backend.close();
    store.close();
  }
});
