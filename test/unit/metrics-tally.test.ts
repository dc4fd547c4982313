/**
 * Counters tallied on the packet path and handed to prom-client when read: a reader sees every
 * increment exactly once, whichever way it reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { TalliedCounter, TalliedHistogram, createMetrics } from '../../daemon/metrics.js';

function counter(registry = new Registry()) {
  return new TalliedCounter({ name: 'test_things_total', help: 'things', labelNames: ['a', 'b', 'c'] as const, registers: [registry] });
}

test('tallies show in get() with their labels, once, and add to inc()', async () => {
  const c = counter();
  c.tally('x', 'y', 'z');
  c.tally('x', 'y', 'z');
  c.tally('x', 'y', 'w');
  c.inc({ a: 'x', b: 'y', c: 'z' }, 5);
  const first = await c.get();
  const value = (labels: Record<string, string>) => first.values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value;
  assert.equal(value({ a: 'x', b: 'y', c: 'z' }), 7);
  assert.equal(value({ a: 'x', b: 'y', c: 'w' }), 1);
  // Read again with nothing new: the same totals, not doubled.
  const again = await c.get();
  assert.deepEqual(again.values, first.values);
  c.tally('x', 'y', 'w');
  const third = await c.get();
  assert.equal(third.values.find((v) => v.labels.c === 'w')?.value, 2);
});

test('a scrape of the registry includes tallies not yet read', async () => {
  const registry = new Registry();
  const c = counter(registry);
  c.tally('p', 'q', 'r');
  const text = await registry.metrics();
  assert.match(text, /test_things_total\{a="p",b="q",c="r"\} 1/);
});

test('the decision and packet counters of the catalogue take tallies with one to four labels', async () => {
  const m = createMetrics();
  m.decisions.tally('dhcp', 'boot', 'known', 'efi-x64');
  m.dhcpPackets.tally('67', 'discover', 'answered');
  assert.match(await m.registry.metrics(), /bootgate_decisions_total\{door="dhcp",decision="boot",reason="known",arch="efi-x64"\} 1/);
  assert.match(await m.registry.metrics(), /bootgate_dhcp_packets_total\{port="67",type="discover",result="answered"\} 1/);
  assert.throws(() => new TalliedCounter({ name: 'x_total', help: 'x', labelNames: [] as string[], registers: [] }), RangeError);
});

test('a tallied histogram reads as prom-client\'s own fed the same values: buckets, sum and count', async () => {
  const buckets = [0.001, 0.01, 0.1];
  const tallied = new TalliedHistogram({ name: 'test_t_seconds', help: 't', labelNames: ['port'] as const, buckets, registers: [] });
  const plain = new Histogram({ name: 'test_t_seconds', help: 't', labelNames: ['port'] as const, buckets, registers: [] });
  const values = [0.0005, 0.001, 0.002, 0.05, 0.5, 3, 0.0001, 0.01];
  const feed = (vs: number[], port: string) => {
    for (const v of vs) {
      tallied.tally(port, v);
      plain.observe({ port }, v);
    }
  };
  const same = async () => {
    const [a, b] = [await tallied.get(), await plain.get()];
    assert.equal(a.values.length, b.values.length);
    for (const v of b.values) {
      const match = a.values.find((x) => x.metricName === v.metricName && JSON.stringify(x.labels) === JSON.stringify(v.labels));
      assert.ok(match, `${v.metricName} ${JSON.stringify(v.labels)}`);
      assert.ok(Math.abs(match.value - v.value) < 1e-9, `${v.metricName} ${JSON.stringify(v.labels)}: ${match.value} vs ${v.value}`);
    }
  };
  feed(values, '67');
  feed(values.slice(0, 3), '4011');
  await same();
  await same(); // a second read adds nothing
  feed([0.02, 0.02], '67');
  await same();
  tallied.tally('67', Number.NaN); // not a duration: ignored, as it never reaches prom-client
  await same();
});
