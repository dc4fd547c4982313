/**
 * The lock-step loop's blocking receive on a real UDP socket: a held fd waits for a packet (and gives
 * up with -EAGAIN), and after unhold() the socket is non-blocking again, so node:dgram (libuv) can read
 * it from the event loop without ever blocking the thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { EAGAIN, loadSyncIo } from '../../daemon/tftp/syncio.js';

function fdOf(s: Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  assert.ok(typeof fd === 'number' && fd >= 0, 'the socket has an fd');
  return fd;
}

/** Whether the fd's open file is non-blocking (O_NONBLOCK in /proc/self/fdinfo's octal flags). */
function nonBlocking(fd: number): boolean {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  assert.ok(m, 'fdinfo has flags');
  return (parseInt(m[1] as string, 8) & 0o4000) !== 0;
}

test('hold, recvWait and unhold on a UDP socket', async () => {
  const io = loadSyncIo();
  assert.ok(io !== null, 'koffi and libc are available');
  const a = createSocket('udp4');
  const b = createSocket('udp4');
  try {
    a.bind(0, '127.0.0.1');
    b.bind(0, '127.0.0.1');
    await Promise.all([once(a, 'listening'), once(b, 'listening')]);
    b.connect(a.address().port, '127.0.0.1');
    await once(b, 'connect');
    const fd = fdOf(a);
    const buf = Buffer.alloc(1500);
    assert.equal(nonBlocking(fd), true);
    assert.equal(io.hold(fd, 5), 0);
    assert.equal(nonBlocking(fd), false);
    // Nothing queued: the blocking receive gives up after its timeout.
    assert.equal(io.recvWait(fd, buf), -EAGAIN);
    // A packet sent meanwhile (synchronously, with no event-loop turn that could let libuv read it first) is returned.
    assert.equal(io.send(fdOf(b), Buffer.from('ack-1')), 5);
    const n = io.recvWait(fd, buf);
    assert.equal(buf.subarray(0, Math.max(0, n)).toString(), 'ack-1');
    assert.equal(io.unhold(fd), 0);
    assert.equal(nonBlocking(fd), true);
    // Non-blocking again: an empty receive returns at once, and the event loop reads the socket as before.
    assert.equal(io.recv(fd, buf), -EAGAIN);
    const got = once(a, 'message');
    b.send(Buffer.from('ack-2'));
    const [msg] = (await got) as [Buffer];
    assert.equal(msg.toString(), 'ack-2');
  } finally {
    a.close();
    b.close();
  }
});
