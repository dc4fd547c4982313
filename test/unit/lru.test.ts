/**
 * The bounded least-recently-used map behind the per-machine tables of the decision path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LruMap } from '../../daemon/lru.js';

test('set, get and peek: get makes an entry the newest, peek does not', () => {
  const m = new LruMap<string, number>(3);
  m.set('a', 1).set('b', 2).set('c', 3);
  assert.equal(m.get('a'), 1); // a is now the newest: b is the oldest
  assert.equal(m.peek('b'), 2); // b stays the oldest
  m.set('d', 4);
  assert.equal(m.has('b'), false, 'the least recently used entry went');
  assert.deepEqual([...m.entries()], [['c', 3], ['a', 1], ['d', 4]]);
  assert.deepEqual(m.newestFirst(), [4, 1, 3]);
  assert.equal(m.size, 3);
});

test('touch, overwrite, delete and clear keep the order consistent', () => {
  const m = new LruMap<string, number>(3);
  m.set('a', 1).set('b', 2).set('c', 3);
  assert.equal(m.touch('a'), true);
  assert.equal(m.touch('zz'), false);
  m.set('b', 20); // an overwrite is a use
  assert.deepEqual([...m.entries()], [['c', 3], ['a', 1], ['b', 20]]);
  assert.equal(m.delete('a'), true);
  assert.equal(m.delete('a'), false);
  assert.deepEqual(m.newestFirst(), [20, 3]);
  m.clear();
  assert.equal(m.size, 0);
  assert.deepEqual([...m.entries()], []);
  m.set('x', 9);
  assert.deepEqual(m.newestFirst(), [9]);
});

test('a bound below one is refused', () => {
  assert.throws(() => new LruMap(0), RangeError);
});

test('behaves as a Map in insertion order with delete-and-reinsert on use (random operations)', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 12 }), value: fc.integer() }),
    fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('peek' as const), key: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
  );
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 200 }), (max, ops) => {
    const lru = new LruMap<number, number>(max);
    const model = new Map<number, number>();
    for (const o of ops) {
      if (o.kind === 'set') {
        model.delete(o.key);
        while (model.size >= max) model.delete(model.keys().next().value as number);
        model.set(o.key, o.value);
        lru.set(o.key, o.value);
      } else if (o.kind === 'get') {
        const v = model.get(o.key);
        if (v !== undefined) { model.delete(o.key); model.set(o.key, v); }
        assert.equal(lru.get(o.key), v);
      } else if (o.kind === 'peek') {
        assert.equal(lru.peek(o.key), model.get(o.key));
      } else {
        assert.equal(lru.delete(o.key), model.delete(o.key));
      }
      assert.deepEqual([...lru.entries()], [...model.entries()]);
      assert.equal(lru.size, model.size);
    }
  }));
});
