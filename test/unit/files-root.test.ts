/**
 * Root confinement: every traversal form is refused, Windows boot manager paths resolve
 * case-insensitively with backslashes, symlinks may point inside the root but never out of it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInRoot } from '../../daemon/files/root.js';

let dir: string;
let root: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-root-'));
  root = join(dir, 'boot');
  mkdirSync(join(root, 'Boot', 'x64'), { recursive: true });
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'Boot', 'BCD'), 'bcd');
  writeFileSync(join(root, 'Boot', 'x64', 'wdsnbp.com'), 'nbp');
  writeFileSync(join(root, 'ipxe.efi'), 'efi');
  writeFileSync(join(root, '100%25.txt'), 'literal percent');
  writeFileSync(join(dir, 'secret'), 'outside');
  symlinkSync(join(dir, 'secret'), join(root, 'escape'));
  symlinkSync('../../secret', join(root, 'sub', 'relescape'));
  symlinkSync(dir, join(root, 'updir'));
  symlinkSync(join(root, 'ipxe.efi'), join(root, 'inside-link'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('plain, leading-slash and Windows forms resolve to the file', async () => {
  for (const req of ['ipxe.efi', '/ipxe.efi', '\\ipxe.efi', './ipxe.efi', '.\\ipxe.efi']) {
    const r = await resolveInRoot(root, req);
    assert.ok(r.ok, req);
    assert.equal(r.rel, 'ipxe.efi');
  }
});

test('Windows boot manager paths: backslashes and case-insensitive components', async () => {
  const cases: Array<[string, string]> = [
    ['\\Boot\\BCD', 'Boot/BCD'],
    ['\\boot\\bcd', 'Boot/BCD'],
    ['\\boot\\x64\\wdsnbp.com', 'Boot/x64/wdsnbp.com'],
    ['/BOOT/X64/WDSNBP.COM', 'Boot/x64/wdsnbp.com'],
    ['boot//x64\\\\wdsnbp.com', 'Boot/x64/wdsnbp.com'],
  ];
  for (const [req, rel] of cases) {
    const r = await resolveInRoot(root, req);
    assert.ok(r.ok, req);
    assert.equal(r.rel, rel, req);
  }
});

test('an absolute path naming the root itself is accepted (pxelinux-style clients)', async () => {
  const r = await resolveInRoot(root, join(root, 'ipxe.efi'));
  assert.ok(r.ok);
  assert.equal(r.rel, 'ipxe.efi');
});

test('every traversal form is refused', async () => {
  const forms = [
    '../secret',
    '..\\secret',
    'Boot/../../secret',
    'Boot\\..\\..\\secret',
    '/../secret',
    '\\..\\..\\secret',
    '..',
    'C:\\Windows\\win.ini',
    'c:/secret',
    '//?/C:/secret',
    '%2e%2e/secret',
    '%2E%2E%2Fsecret',
    '..%2fsecret',
    '..%5csecret',
    '%252e%252e%252fsecret',
    'ipxe.efi\0../../secret',
    'escape',
    'sub/relescape',
    'updir/secret',
    'UPDIR/SECRET',
  ];
  for (const f of forms) {
    const r = await resolveInRoot(root, f);
    assert.equal(r.ok, false, f);
    if (!r.ok) assert.equal(r.reason, 'traversal', f);
  }
});

test('absolute paths elsewhere are read as root-relative, so they are simply not found', async () => {
  for (const f of ['/etc/passwd', join(dir, 'secret')]) {
    const r = await resolveInRoot(root, f);
    assert.deepEqual(r, { ok: false, reason: 'not-found' }, f);
  }
});

test('symlinks that stay inside the root are served by their real path', async () => {
  const r = await resolveInRoot(root, 'inside-link');
  assert.ok(r.ok);
  assert.equal(r.abs, join(root, 'ipxe.efi'));
});

test('missing files, directories and the root itself are refused with their reason', async () => {
  assert.deepEqual(await resolveInRoot(root, 'nope.efi'), { ok: false, reason: 'not-found' });
  assert.deepEqual(await resolveInRoot(root, 'Boot'), { ok: false, reason: 'not-file' });
  assert.deepEqual(await resolveInRoot(root, '/'), { ok: false, reason: 'not-file' });
  assert.deepEqual(await resolveInRoot(root, ''), { ok: false, reason: 'not-file' });
  assert.deepEqual(await resolveInRoot(root, 'ipxe.efi/x'), { ok: false, reason: 'not-found' });
  const loop = await resolveInRoot(root, 'loop1');
  assert.equal(loop.ok, false);
});

test('a literal percent sign in a name is fine when it hides no traversal', async () => {
  const r = await resolveInRoot(root, '100%25.txt');
  assert.ok(r.ok);
});

test('a missing root is not-found, not a crash', async () => {
  assert.deepEqual(await resolveInRoot(join(dir, 'none'), 'x'), { ok: false, reason: 'not-found' });
});
