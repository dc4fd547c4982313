import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { configKeys, loadConfig } from '../../daemon/config/load.js';

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
