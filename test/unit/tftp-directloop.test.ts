/**
 * The worker's direct receive loop against a scripted stand-in for the libc calls: packets reach their
 * transfer's handler, a transfer waiting for a chunk read keeps the loop off until the wait ends, a
 * refused port is reported and forgotten, and the epoll instance lives exactly as long as it has fds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirectLoop } from '../../daemon/tftp/directloop.js';
import { EAGAIN, ECONNREFUSED, type SyncIo } from '../../daemon/tftp/syncio.js';

const EP = 900;

/** A SyncIo whose sockets hold queued packets (or an errno) and whose epoll reports the non-empty ones. */
function fakeIo() {
  const queues = new Map<number, Array<Buffer | number>>();
  const watched = new Set<number>();
  const calls = { epollWait: 0, created: 0, closed: 0 };
  const io: SyncIo = {
    recv: (fd, buf) => {
      const item = queues.get(fd)?.shift();
      if (item === undefined) return -EAGAIN;
      if (typeof item === 'number') return item;
      item.copy(buf);
      return item.length;
    },
    send: () => -EAGAIN,
    wait: () => 0,
    // The direct loop never holds an fd (only the lock-step loop does).
    hold: () => assert.fail('hold'),
    unhold: () => assert.fail('unhold'),
    recvWait: () => assert.fail('recvWait'),
    epollCreate: () => {
      calls.created += 1;
      return EP;
    },
    closeFd: (fd) => {
      assert.equal(fd, EP);
      calls.closed += 1;
      return 0;
    },
    epollCtl: (ep, op, fd) => {
      assert.equal(ep, EP);
      if (op === 'add') watched.add(fd);
      else watched.delete(fd);
      return 0;
    },
    epollWait: (ep, ready) => {
      assert.equal(ep, EP);
      calls.epollWait += 1;
      let n = 0;
      for (const fd of watched) if ((queues.get(fd)?.length ?? 0) > 0 && n < ready.length) ready[n++] = fd;
      return n;
    },
  };
  const push = (fd: number, item: Buffer | number) => {
    const q = queues.get(fd) ?? [];
    q.push(item);
    queues.set(fd, q);
  };
  return { io, push, calls, watched };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

test('packets reach the handler of their fd, in order, once the loop is kicked', async () => {
  const f = fakeIo();
  const loop = new DirectLoop(f.io);
  const got: Record<number, string[]> = { 7: [], 8: [] };
  const errors: number[] = [];
  assert.ok(loop.add(7, { onPacket: (m) => got[7]?.push(m.toString()), onError: (e) => errors.push(e) }));
  assert.ok(loop.add(8, { onPacket: (m) => got[8]?.push(m.toString()), onError: (e) => errors.push(e) }));
  assert.equal(loop.add(7, { onPacket: () => undefined, onError: () => undefined }), false, 'an fd is watched once');
  f.push(7, Buffer.from('a1'));
  f.push(8, Buffer.from('b1'));
  f.push(7, Buffer.from('a2'));
  loop.kick();
  await turn();
  assert.deepEqual(got, { 7: ['a1', 'a2'], 8: ['b1'] });
  assert.equal(loop.received, 3);
  assert.deepEqual(errors, []);
  loop.close();
});

test('a transfer waiting for a chunk read keeps the loop off until every wait has ended', async () => {
  const f = fakeIo();
  const loop = new DirectLoop(f.io);
  const got: string[] = [];
  loop.add(7, { onPacket: (m) => got.push(m.toString()), onError: () => undefined });
  f.push(7, Buffer.from('x'));
  loop.hold();
  loop.hold();
  loop.kick();
  await turn();
  await turn();
  assert.equal(f.calls.epollWait, 0, 'no wait in epoll while a read is pending');
  assert.deepEqual(got, []);
  loop.unhold();
  await turn();
  assert.equal(f.calls.epollWait, 0, 'one wait is still pending');
  loop.unhold();
  await turn();
  assert.deepEqual(got, ['x']);
  loop.close();
});

test('a refused port is reported once and forgotten; the epoll instance is closed with its last fd and made again', async () => {
  const f = fakeIo();
  const loop = new DirectLoop(f.io);
  const errors: number[] = [];
  loop.add(7, { onPacket: () => undefined, onError: (e) => errors.push(e) });
  assert.equal(f.calls.created, 1);
  f.push(7, -ECONNREFUSED);
  loop.kick();
  await turn();
  assert.deepEqual(errors, [-ECONNREFUSED]);
  assert.equal(loop.size, 0);
  assert.equal(f.watched.size, 0);
  assert.equal(f.calls.closed, 1, 'no fd left: the epoll instance is closed');
  assert.ok(loop.add(9, { onPacket: () => undefined, onError: () => undefined }));
  assert.equal(f.calls.created, 2);
  loop.remove(9);
  assert.equal(f.calls.closed, 2);
  loop.close();
});
