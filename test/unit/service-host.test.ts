/**
 * The service host on the embedded store: services are built once and called in place through the
 * same promise-answering surface the shared store's thread gives (the thread itself is exercised on a
 * real PostgreSQL in store-fleet.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../daemon/config/load.js';
import { inPlace } from '../../daemon/features/feature.js';
import { inventoryService } from '../../daemon/features/inventory/service.js';
import { ServiceHost } from '../../daemon/features/remote.js';
import { AdminError } from '../../daemon/http/admin/errors.js';
import { createLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/store/db.js';

const logger = createLogger('silent');

test('in place: methods answer promises, errors reject as themselves, and the proxy is no promise itself', async () => {
  const calls: string[] = [];
  const service = {
    add(a: number, b: number): number { calls.push('add'); return a + b; },
    fail(): never { throw new AdminError(404, 'ERR_NOT_FOUND', 'nothing here'); },
  };
  const remote = inPlace(service);
  assert.equal(await remote.add(2, 3), 5);
  await assert.rejects(remote.fail(), (err: unknown) => err instanceof AdminError && err.status === 404);
  // Awaiting the proxy (as an async function returning it would) must not call a `then` method on the service.
  assert.equal(await Promise.resolve(remote), remote);
  assert.deepEqual(calls, ['add']);
});

test('the service host on SQLite: no thread, one instance per service, changes seen at once', async () => {
  const store = openStore(':memory:');
  const cfg = validateConfig({ profiles: { p: { bootFiles: { 'efi-x64': 'b.efi' } } } }, 'test');
  let settled = 0;
  const host = new ServiceHost({ ctx: { store, config: () => cfg, logger }, logger, settled: async () => { settled += 1; } });
  try {
    assert.equal(host.threaded, false);
    const seen: string[] = [];
    store.onChange((k) => seen.push(k));
    const inventory = host.remote(inventoryService);
    await inventory.saveComputer({ name: 'PC-1', macs: '52:54:00:01:02:03', profile: 'p' }, 'api:test');
    assert.deepEqual((await host.remote(inventoryService).listComputers()).map((c) => c.name), ['PC-1']);
    assert.deepEqual(seen, ['inventory', 'devices'], 'announced once each, by the service itself');
    assert.equal(settled, 0, 'nothing to wait for: the snapshot reads the same file');
    assert.equal(store.computers.byName('PC-1')?.name, 'PC-1');
  } finally {
    host.close();
    store.close();
  }
});
