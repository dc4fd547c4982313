/**
 * Password hashes: scrypt with a salt, parameters stored with the hash, constant-time verification, and
 * what a boot password may be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCRYPT, hashPassword, parseHash, passwordProblem, verifyPassword } from '../../daemon/features/password/hash.js';

/** Cheap parameters: the arithmetic is the same, the tests stay fast. */
const FAST = { ln: 10, r: 8, p: 1 };

test('a hash carries its parameters and salt and never the password', async () => {
  const h = await hashPassword('correct horse', FAST);
  assert.match(h, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
  assert.ok(!h.includes('correct'));
  const parsed = parseHash(h);
  assert.ok(parsed);
  assert.deepEqual(parsed.params, FAST);
  assert.equal(parsed.salt.length, 16);
  assert.equal(parsed.key.length, 32);
});

test('the same password hashes differently each time (salted) and both verify', async () => {
  const a = await hashPassword('s3cret-pass', FAST);
  const b = await hashPassword('s3cret-pass', FAST);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('s3cret-pass', a), true);
  assert.equal(await verifyPassword('s3cret-pass', b), true);
});

test('a wrong password, a near miss, an empty one and a missing hash do not verify', async () => {
  const h = await hashPassword('s3cret-pass', FAST);
  for (const wrong of ['s3cret-pasS', 's3cret-pass ', 's3cret-pas', '', 'S3CRET-PASS']) {
    assert.equal(await verifyPassword(wrong, h), false, wrong);
  }
  assert.equal(await verifyPassword('s3cret-pass', null), false);
});

test('the default parameters (2^15, 8, 1) work within node\'s memory limit', async () => {
  const h = await hashPassword('default-params', DEFAULT_SCRYPT);
  assert.match(h, /^\$scrypt\$ln=15,r=8,p=1\$/);
  assert.equal(await verifyPassword('default-params', h), true);
});

test('stored values that are not our hashes, or with out-of-bounds parameters, verify nothing and never throw', async () => {
  const good = await hashPassword('pw-123456', FAST);
  const [, , , salt, key] = good.split('$');
  const bad = [
    '',
    'plaintext',
    '$scrypt$ln=10,r=8,p=1$',
    `$scrypt$ln=30,r=8,p=1$${salt}$${key}`,
    `$scrypt$ln=10,r=99,p=1$${salt}$${key}`,
    `$scrypt$ln=10,r=8,p=1$AAAA$${key}`,
    `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${key}`,
  ];
  for (const b of bad) {
    assert.equal(parseHash(b), null, b);
    assert.equal(await verifyPassword('pw-123456', b), false, b);
  }
});

test('what a boot password may be: iPXE login reads printable ASCII, 63 characters at most', () => {
  assert.equal(passwordProblem('abcdef'), null);
  assert.equal(passwordProblem('x'.repeat(63)), null);
  assert.equal(passwordProblem('with space inside'), null);
  const cases: Array<[unknown, RegExp]> = [
    [12345678, /must be a string/],
    ['short', /at least 6/],
    ['x'.repeat(64), /at most 63/],
    ['pässwört', /printable ASCII/],
    ['tab\tinside', /printable ASCII/],
    [' leading', /start or end with a space/],
  ];
  for (const [pw, re] of cases) {
    const p = passwordProblem(pw);
    assert.ok(p && re.test(p), `${String(pw)}: ${p}`);
    // The sentence never quotes the password back.
    if (typeof pw === 'string') assert.ok(!p.includes(pw.trim()), p);
  }
});
