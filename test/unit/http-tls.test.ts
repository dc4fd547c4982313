/**
 * The admin listener's certificate: made once (EC P-256, self-signed) next to the store, the same one
 * on the next start, the fingerprint what an HTTPS client sees; the admin's own pair used when set, and
 * a key that does not belong to the certificate, or half a pair, refused with the file named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { adminTls, adminTlsFingerprint, selfSignedPaths } from '../../daemon/http/tls.js';

test('a self-signed pair is made on first start, kept next to the store and reused; an HTTPS client sees its fingerprint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tls-'));
  try {
    const paths = selfSignedPaths(join(dir, 'data', 'bootgate.db'));
    assert.ok(paths);
    assert.equal(adminTlsFingerprint({ cert: null, key: null }, paths), null, 'nothing before the first start');
    const first = await adminTls({ cert: null, key: null }, paths);
    assert.equal(first.source, 'generated');
    assert.equal(first.certFile, join(dir, 'data', 'admin-tls.crt'));
    assert.equal(statSync(first.keyFile).mode & 0o777, 0o600, 'the key is readable by its owner only');
    assert.match(first.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const second = await adminTls({ cert: null, key: null }, paths);
    assert.equal(second.source, 'self-signed');
    assert.equal(second.fingerprint256, first.fingerprint256, 'the same certificate on the next start');
    assert.equal(adminTlsFingerprint({ cert: null, key: null }, paths), first.fingerprint256);

    const server = createServer({ cert: first.cert, key: first.key }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const sock: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await once(sock, 'secureConnect');
    assert.equal(sock.getPeerX509Certificate()?.fingerprint256, first.fingerprint256);
    sock.destroy();
    server.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the admin\'s own pair is used; a key of another certificate and half a pair are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tls-'));
  try {
    const a = await adminTls({ cert: null, key: null }, { cert: join(dir, 'a.crt'), key: join(dir, 'a.key') });
    const b = await adminTls({ cert: null, key: null }, { cert: join(dir, 'b.crt'), key: join(dir, 'b.key') });
    const own = await adminTls({ cert: a.certFile, key: a.keyFile }, null);
    assert.equal(own.source, 'config');
    assert.equal(own.fingerprint256, a.fingerprint256);
    await assert.rejects(adminTls({ cert: a.certFile, key: b.keyFile }, null), new RegExp(`${b.keyFile} is not the key of ${a.certFile}`));
    await assert.rejects(adminTls({ cert: a.certFile, key: null }, null), /set both or neither/);
    writeFileSync(join(dir, 'junk.crt'), 'not a certificate');
    await assert.rejects(adminTls({ cert: join(dir, 'junk.crt'), key: a.keyFile }, null), /junk\.crt: not a PEM certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two instances sharing the store folder, started together, serve the one pair on disk; a key left without its certificate is replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tls-'));
  try {
    const paths = selfSignedPaths(join(dir, 'a.db'));
    assert.ok(paths);
    const [a, b] = await Promise.all([adminTls({ cert: null, key: null }, paths), adminTls({ cert: null, key: null }, paths)]);
    const onDisk = adminTlsFingerprint({ cert: null, key: null }, paths);
    assert.equal(a?.fingerprint256, onDisk);
    assert.equal(b?.fingerprint256, onDisk);
    assert.deepEqual(readdirSync(dir).sort(), ['admin-tls.crt', 'admin-tls.key'], 'no temporary file left');

    // A crash between the key and the certificate: the next start makes a pair that works.
    rmSync(paths.cert);
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(paths.key, minuteAgo, minuteAgo);
    const again = await adminTls({ cert: null, key: null }, paths);
    assert.equal(again.source, 'generated');
    assert.equal(again.fingerprint256, adminTlsFingerprint({ cert: null, key: null }, paths));
    assert.deepEqual(readdirSync(dir).sort(), ['admin-tls.crt', 'admin-tls.key']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
