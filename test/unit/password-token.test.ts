/**
 * Signed per-client file URLs: the token binds MAC, IP, profile, path prefixes and expiry under an HMAC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signGrant, verifyGrant, type UrlGrant } from '../../daemon/features/password/token.js';
import { signedBase, splitSignedPath } from '../../daemon/features/password/files.js';

const KEY = Buffer.alloc(32, 7);
const T0 = Date.UTC(2025, 0, 31, 12, 0, 0);
const grant: UrlGrant = { mac: '52:54:00:77:00:01', ip: '10.77.0.101', profile: 'lab', prefixes: ['vmlinuz', 'linux/'], expiresAt: T0 + 600_000 };

test('a signed token verifies for its client and gives back what it binds', () => {
  const tok = signGrant(grant, KEY);
  assert.match(tok, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const r = verifyGrant(tok, KEY, T0, '10.77.0.101');
  assert.deepEqual(r, { ok: true, grant });
});

test('expiry: valid up to the second before, refused from the expiry on (injected clock)', () => {
  const tok = signGrant(grant, KEY);
  assert.equal(verifyGrant(tok, KEY, grant.expiresAt - 1, '10.77.0.101').ok, true);
  assert.deepEqual(verifyGrant(tok, KEY, grant.expiresAt, '10.77.0.101'), { ok: false, reason: 'expired' });
  assert.deepEqual(verifyGrant(tok, KEY, grant.expiresAt + 3_600_000, '10.77.0.101'), { ok: false, reason: 'expired' });
});

test('expiry is carried in whole seconds, rounded down (never later than granted)', () => {
  const tok = signGrant({ ...grant, expiresAt: T0 + 1999 }, KEY);
  const r = verifyGrant(tok, KEY, T0, '10.77.0.101');
  assert.ok(r.ok);
  assert.equal(r.grant.expiresAt, T0 + 1000);
});

test('another IP cannot use the token', () => {
  const tok = signGrant(grant, KEY);
  assert.deepEqual(verifyGrant(tok, KEY, T0, '10.77.0.102'), { ok: false, reason: 'wrong-client' });
});

test('a changed payload, a changed signature or another key is refused', () => {
  const tok = signGrant(grant, KEY);
  const [payload, sig] = tok.split('.') as [string, string];
  const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('10.77.0.101', '10.77.0.102')).toString('base64url');
  assert.deepEqual(verifyGrant(`${forged}.${sig}`, KEY, T0, '10.77.0.102'), { ok: false, reason: 'bad-signature' });
  const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
  assert.deepEqual(verifyGrant(`${payload}.${flipped}`, KEY, T0, '10.77.0.101'), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(verifyGrant(tok, Buffer.alloc(32, 8), T0, '10.77.0.101'), { ok: false, reason: 'bad-signature' });
});

test('one signature has one spelling: the unused bits of its last base64 character cannot vary', () => {
  const tok = signGrant(grant, KEY);
  const last = tok.slice(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // 32 bytes = 42 full characters + one carrying 4 bits: the 3 neighbours sharing those bits decode alike.
  const i = alphabet.indexOf(last);
  const twins = [0, 1, 2, 3].map((k) => alphabet[(i & ~3) + k] as string).filter((c) => c !== last);
  assert.equal(twins.length, 3);
  for (const c of twins) {
    assert.deepEqual(Buffer.from(tok.slice(0, -1) + c, 'base64url').subarray(-32), Buffer.from(tok, 'base64url').subarray(-32));
    assert.deepEqual(verifyGrant(tok.slice(0, -1) + c, KEY, T0, '10.77.0.101'), { ok: false, reason: 'bad-signature' }, c);
  }
});

test('malformed tokens are refused without throwing', () => {
  for (const t of ['', 'abc', 'a.b', `${'x'.repeat(20)}.${'y'.repeat(42)}`, `${'x'.repeat(2000)}.${'y'.repeat(43)}`, '../../etc/passwd']) {
    const r = verifyGrant(t, KEY, T0, '10.77.0.101');
    assert.equal(r.ok, false, t);
  }
  // Correctly signed but not a payload this code writes.
  const bogus = Buffer.from('2|x|y').toString('base64url');
  const sig = createHmac('sha256', KEY).update('bootgate-url-v1|').update(bogus).digest('base64url');
  assert.deepEqual(verifyGrant(`${bogus}.${sig}`, KEY, T0, '10.77.0.101'), { ok: false, reason: 'malformed' });
});

test('signGrant refuses values a token cannot carry', () => {
  assert.throws(() => signGrant({ ...grant, mac: '52-54-00-77-00-01' }, KEY), TypeError);
  assert.throws(() => signGrant({ ...grant, prefixes: ['a,b'] }, KEY), TypeError);
  assert.throws(() => signGrant({ ...grant, profile: 'a|b' }, KEY), TypeError);
});

test('the signed path form: base, split, and paths that are not signed', () => {
  const tok = signGrant(grant, KEY);
  assert.equal(signedBase('http://10.77.0.2:8080/', tok), `http://10.77.0.2:8080/_signed/${tok}`);
  assert.deepEqual(splitSignedPath(`_signed/${tok}/linux/vmlinuz`), { token: tok, rest: 'linux/vmlinuz' });
  assert.deepEqual(splitSignedPath(`/_signed/${tok}/vmlinuz`), { token: tok, rest: 'vmlinuz' });
  assert.deepEqual(splitSignedPath(`\\_signed\\${tok}\\vmlinuz`), { token: tok, rest: 'vmlinuz' });
  assert.equal(splitSignedPath('vmlinuz'), null);
  assert.equal(splitSignedPath(`_signed/${tok}`), null);
  assert.equal(splitSignedPath('linux/_signed/x/y'), null);
});
