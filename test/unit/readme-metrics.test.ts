import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { daemonMetricCatalogue } from './helpers/metric-catalogue.js';

test('the README metric catalogue lists exactly the metrics the daemon registers, with their labels', async () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const documented = new Map([...readme.matchAll(/^\| `(bootgate_[a-z0-9_]+)` \| \w+ \| ([^|]*) \|/gm)].map((m) => [m[1], (m[2] ?? '').trim()]));
  const actual = (await daemonMetricCatalogue()).filter((m) => !/^bootgate_(process|nodejs)_/.test(m.name));
  assert.deepEqual([...documented.keys()].sort(), actual.map((m) => m.name).sort());
  for (const m of actual) assert.equal(documented.get(m.name), m.labels.join(', ') || '-', `labels of ${m.name}`);
});
