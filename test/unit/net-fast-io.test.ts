/**
 * The DHCP doors' batched receive (recvmmsg) and direct send (sendto) on 127.0.0.1. The receiving socket
 * is made through libc and never handed to libuv, so only drain() reads it: what it returns is exactly
 * what the kernel had queued.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { BATCH_SLOT_BYTES, BATCH_SLOTS, batchReceiver, directIoer } from '../../daemon/net/fast-io.js';
import { AF_INET, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET, loadLibc, sockaddrIn } from '../../daemon/net/libc.js';

const SO_RCVBUF = 8;
import { socketFd } from '../../daemon/net/socket-fd.js';

function rawSocket(): { fd: number; port: number; close: () => void } {
  const c = loadLibc();
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0);
  // The kernel doubles what is asked (up to rmem_max): room for a few hundred small datagrams queued at once.
  const size = Buffer.alloc(4);
  size.writeInt32LE(4 << 20, 0);
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
  // Port 0, then find out which: bind to a free port taken from a throwaway probe.
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    if (c.bind(fd, sockaddrIn('127.0.0.1', port) as Buffer, 16) === 0) return { fd, port, close: () => c.close(fd) };
  }
  throw new Error('no free port');
}

async function sender(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

async function sendAll(s: dgram.Socket, port: number, bufs: Buffer[]): Promise<void> {
  for (const b of bufs) await new Promise<void>((r, j) => s.send(b, port, '127.0.0.1', (err) => (err ? j(err) : r())));
}

test('drain() delivers every queued datagram, in order, with its bytes and source', async () => {
  const rx = rawSocket();
  const tx = await sender();
  try {
    const got: Array<{ msg: Buffer; port: number; address: string; size: number }> = [];
    const oversize: number[] = [];
    const r = batchReceiver(rx.fd, (msg, rinfo) => got.push({ msg, ...rinfo }), (bytes) => oversize.push(bytes));
    assert.ok(r);
    assert.equal(r.drain(), 0, 'nothing queued yet');
    const count = BATCH_SLOTS * 3 + 5;
    const sent = Array.from({ length: count }, (_, i) => Buffer.alloc(1 + ((i * 37) % 1400), i & 0xff));
    await sendAll(tx, rx.port, sent);
    assert.equal(r.drain(), count);
    assert.equal(got.length, count);
    got.forEach((g, i) => {
      assert.deepEqual(g.msg, sent[i], `datagram ${i}`);
      assert.equal(g.size, sent[i]!.length);
      assert.equal(g.address, '127.0.0.1');
      assert.equal(g.port, tx.address().port);
    });
    assert.deepEqual(oversize, []);
    // Delivered buffers are copies: a later batch does not change them.
    const first = Buffer.from(got[0]!.msg);
    await sendAll(tx, rx.port, [Buffer.alloc(got[0]!.msg.length, 0xee)]);
    assert.equal(r.drain(), 1);
    assert.deepEqual(got[0]!.msg, first);
  } finally {
    tx.close();
    rx.close();
  }
});

test('a datagram longer than a slot is reported, not delivered cut; the ones around it arrive', async () => {
  const rx = rawSocket();
  const tx = await sender();
  try {
    const got: Buffer[] = [];
    const oversize: number[] = [];
    const r = batchReceiver(rx.fd, (msg) => got.push(msg), (bytes) => oversize.push(bytes));
    assert.ok(r);
    await sendAll(tx, rx.port, [Buffer.alloc(10, 1), Buffer.alloc(BATCH_SLOT_BYTES + 100, 2), Buffer.alloc(BATCH_SLOT_BYTES, 3)]);
    assert.equal(r.drain(), 2);
    assert.deepEqual(got.map((b) => [b.length, b[0]]), [[10, 1], [BATCH_SLOT_BYTES, 3]]);
    assert.equal(oversize.length, 1);
  } finally {
    tx.close();
    rx.close();
  }
});

test('one drain() reads a bounded number of datagrams, so a flood cannot hold the event loop', async () => {
  const rx = rawSocket();
  const tx = await sender();
  try {
    let n = 0;
    const r = batchReceiver(rx.fd, () => { n += 1; }, () => undefined);
    assert.ok(r);
    await sendAll(tx, rx.port, Array.from({ length: BATCH_SLOTS * 10 }, () => Buffer.alloc(50)));
    const first = r.drain();
    assert.ok(first < BATCH_SLOTS * 10, `first drain read ${first}`);
    let rest = 0;
    for (let k = 0; k < 10; k++) rest += r.drain();
    assert.equal(first + rest, BATCH_SLOTS * 10);
    assert.equal(n, BATCH_SLOTS * 10);
  } finally {
    tx.close();
    rx.close();
  }
});

test('directIoer sends with sendto; an address that is not a dotted quad goes to the fallback', async () => {
  const tx = await sender();
  const rx = await sender();
  try {
    const fallback: string[] = [];
    const errors: Error[] = [];
    const send = directIoer(socketFd(tx), (_b, _p, a) => fallback.push(a), (e) => errors.push(e));
    assert.ok(send);
    const got = new Promise<Buffer>((r) => rx.once('message', (m) => r(m)));
    send(Buffer.from('hello'), rx.address().port, '127.0.0.1');
    assert.equal((await got).toString(), 'hello');
    send(Buffer.from('x'), rx.address().port, 'localhost');
    assert.deepEqual(fallback, ['localhost']);
    // A destination the kernel refuses from this socket (bound to 127.0.0.1) is an error, not a throw.
    send(Buffer.from('x'), 9, '192.0.2.1');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /sendto 192\.0\.2\.1:9: /);
  } finally {
    tx.close();
    rx.close();
  }
});

test('without an fd there is no fast path (dgram does the work)', () => {
  assert.equal(batchReceiver(null, () => undefined, () => undefined), null);
  assert.equal(directIoer(null, () => undefined, () => undefined), null);
});
