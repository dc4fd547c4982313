/**
 * UDP segmentation is an optimisation that fails silently (transfers fall back to a send per packet),
 * so these pin what it depends on for the Node in use: the fd behind a dgram socket, and the kernel
 * taking UDP_SEGMENT on a connected socket whose path MTU fits the block.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { GSO_MAX_SEGMENTS, enableDataSegmentation, pathMtu, socketFd } from '../../daemon/tftp/sockopt.js';

async function connectedSocket(): Promise<{ sock: dgram.Socket; peer: dgram.Socket }> {
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r, j) => sock.connect(peer.address().port, '127.0.0.1', (err?: Error) => (err ? j(err) : r())));
  return { sock, peer };
}

test('socketFd finds the OS fd of a bound dgram socket, and null before it is bound', async () => {
  const unbound = dgram.createSocket('udp4');
  assert.equal(socketFd(unbound), null);
  unbound.close();
  const { sock, peer } = await connectedSocket();
  try {
    const fd = socketFd(sock);
    assert.equal(typeof fd, 'number');
    assert.ok((fd as number) > 2, `fd ${fd}`);
    assert.notEqual(socketFd(peer), fd);
  } finally {
    sock.close();
    peer.close();
  }
});

test('segmentation turns on for a block that fits the path MTU and stays off for one that does not', async () => {
  const { sock, peer } = await connectedSocket();
  try {
    const fd = socketFd(sock) as number;
    const mtu = pathMtu(fd);
    assert.ok(mtu !== null && mtu >= 1500, `loopback path MTU ${mtu}`);
    const segments = enableDataSegmentation(fd, 1432);
    // As many 1432-byte segments as one 64 KiB datagram holds, at most GSO_MAX_SEGMENTS.
    assert.equal(segments, Math.min(GSO_MAX_SEGMENTS, Math.floor(65507 / 1432)));
    assert.equal(enableDataSegmentation(fd, (mtu as number) + 1), 0);
  } finally {
    sock.close();
    peer.close();
  }
});

test('a segmented send arrives as separate datagrams of the segment size', async () => {
  const { sock, peer } = await connectedSocket();
  try {
    assert.ok(enableDataSegmentation(socketFd(sock) as number, 1000) > 0);
    const got: number[] = [];
    const all = new Promise<void>((r) => peer.on('message', (m) => { got.push(m.length); if (got.length === 3) r(); }));
    sock.send(Buffer.alloc(2500, 7));
    await all;
    assert.deepEqual(got, [1000, 1000, 500]);
  } finally {
    sock.close();
    peer.close();
  }
});
