/**
 * Counters tallied on the packet path and handed to prom-client when read: a reader sees every
 * increment exactly once, whichever way it reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { TalliedCounter, createMetrics } from '../../daemon/metrics.js';

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
