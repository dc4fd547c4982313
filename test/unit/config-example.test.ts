import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { configKeys, loadConfig } from '../../daemon/config/load.js';
import { effectiveConfig } from '../../daemon/config/defaults.js';
import { InventoryService } from '../../daemon/features/inventory/service.js';
import { openStore } from '../../daemon/store/db.js';

const example = fileURLToPath(new URL('../../../config/bootgate.example.yaml', import.meta.url));

test('the example config is valid', () => {
  const c = loadConfig({ file: example });
  assert.equal(c.profiles.winpe?.kind, 'required');
});

test('the example config documents every key', () => {
  const text = readFileSync(example, 'utf8');
  const missing = configKeys.filter((k) => !new RegExp(`^\\s*${k.path.split('.').pop()}:`, 'm').test(text)).map((k) => k.path);
  assert.deepEqual(missing, []);
});

test('the example computer lists import into the example config without a problem', () => {
  const cfg = effectiveConfig(loadConfig({ file: example }));
  for (const [name, format] of [['computers.example.csv', 'csv'], ['computers.example.yaml', 'yaml']] as const) {
    const store = openStore(':memory:');
    try {
      const text = readFileSync(fileURLToPath(new URL(`../../../config/${name}`, import.meta.url)), 'utf8');
      const result = new InventoryService(store, () => cfg).importComputers(text, format, { update: false }, 'test');
      assert.ok(result.created > 0, `${name}: ${JSON.stringify(result)}`);
      assert.equal(store.computers.all().length, result.created);
    } finally {
      store.close();
    }
  }
});
