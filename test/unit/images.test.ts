/**
 * Windows PE images from each kind of source, built at test time with wimcapture, xorriso and hivex
 * (helpers/winpe-fixture.ts): the image folder's files and hashes, the BCD values read back with
 * hivexget, bad input leaving the root unchanged, profiles resolved from images, and the boot manager's
 * fetches of an added image over the real TFTP engine on 127.0.0.1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../daemon/config/load.js';
import { ImageRefused, ImageService } from '../../daemon/features/images/service.js';
import { resolveProfileImages } from '../../daemon/features/images/profiles.js';
import { emptyHive } from '../../daemon/features/images/regf.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { doorSettings } from '../../daemon/pxe/settings.js';
import { startTftpServer } from '../../daemon/tftp/server.js';
import { buildWinpe, captureWim, winpeTree, type WinpeFixture } from './helpers/winpe-fixture.js';
import { download, WireClient } from './tftp-wire-client.js';

let base: string;
let fx: WinpeFixture;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const OPTS = '{ae5534e0-a924-466c-b836-758539a3ee3a}';
const LOADER = '{7619dcc9-fafe-11d9-b411-000476eba25f}';

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'bg-images-'));
  fx = await buildWinpe(join(base, 'fx'));
});
after(() => rmSync(base, { recursive: true, force: true }));

function svc(root: string, extra: Record<string, unknown> = {}, freeBytes?: (d: string) => Promise<number>) {
  const cfg = { ...validateConfig({ tftp: { blockSizeMax: 1456, windowSizeMax: 32 }, ...extra }, 'test'), root };
  return new ImageService(() => cfg, freeBytes ? { freeBytes } : {});
}

const hivexget = (file: string, key: string, value: string): Buffer => execFileSync('hivexget', [file, key, value]);
const element = (file: string, obj: string, id: string): Buffer => {
  // hivexget prints binary values as raw bytes, strings as text with a newline.
  return hivexget(file, `\\Objects\\${obj}\\Elements\\${id}`, 'Element');
};
const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const snapshot = (dir: string): string[] => { try { return readdirSync(dir, { recursive: true }).map(String).sort(); } catch { return []; } };

test('the minimal hive opens in hivex and takes keys and values', () => {
  const f = join(base, 'empty.hive');
  writeFileSync(f, emptyHive());
  execFileSync('hivexsh', ['-w', f], { input: 'add Objects\ncd Objects\nsetval 1\nX\ndword:0x2a\ncommit\n' });
  assert.equal(hivexget(f, '\\Objects', 'X').toString().trim(), '42');
  // The header checksum is what hivex checks first: a flipped byte makes the hive unreadable.
  const bad = emptyHive();
  bad.writeUInt8(bad.readUInt8(0x30) ^ 1, 0x30);
  writeFileSync(f, bad);
  assert.throws(() => execFileSync('hivexget', [f, '\\'], { stdio: 'pipe' }));
});

for (const kind of ['folder', 'iso', 'wim'] as const) {
  test(`image add from a ${kind}: its own folder, hashes, and a BCD pointing at its own files`, async () => {
    const root = join(base, `root-${kind}`);
    const source = kind === 'folder' ? fx.media : kind === 'iso' ? fx.iso : fx.wim;
    const name = `winpe-${kind}`;
    const m = await svc(root).add(source, name, kind === 'wim' ? 'x64' : undefined);
    const dir = join(root, 'images', name);
    assert.equal(m.arch, 'x64');
    assert.deepEqual(readdirSync(join(root, 'images')), [name]);
    for (const f of m.files) assert.equal(sha(readFileSync(join(dir, f.path))), f.sha256, f.path);
    assert.equal(sha(readFileSync(join(dir, 'sources/boot.wim'))), sha(readFileSync(fx.wim)));
    assert.deepEqual(readFileSync(join(dir, 'bootmgfw.efi')), fx.inWim['Windows/Boot/EFI/bootmgfw.efi']);
    assert.deepEqual(readFileSync(join(dir, 'pxeboot.n12')), fx.inWim['Windows/Boot/PXE/pxeboot.n12']);
    assert.deepEqual(readFileSync(join(dir, 'en-US/bootmgr.exe.mui')), fx.inWim['Windows/Boot/PXE/en-US/bootmgr.exe.mui']);
    assert.deepEqual(readFileSync(join(dir, 'Boot/boot.sdi')), fx.inWim['Windows/Boot/DVD/PCAT/boot.sdi']);
    assert.ok(m.files.some((f) => f.path === 'Boot/Fonts/wgl4_boot.ttf'));
    assert.deepEqual(m.bootFiles, { bios: `images/${name}/pxeboot.n12`, uefi: `images/${name}/bootmgfw.efi` });
    assert.deepEqual(m.tftp, { blockSize: 1456, windowSize: 32, varWindow: true });
    for (const bcd of [m.bcd.bios, m.bcd.uefi]) {
      const file = join(root, bcd as string);
      assert.deepEqual(element(file, OPTS, '35000007'), u64(1456));
      assert.deepEqual(element(file, OPTS, '35000008'), u64(32));
      assert.deepEqual(element(file, OPTS, '3600000b'), Buffer.from([1]));
      assert.equal(element(file, OPTS, '32000004').toString().trim(), `\\images\\${name}\\Boot\\boot.sdi`);
      const device = element(file, LOADER, '11000001');
      assert.ok(device.toString('utf16le').includes(`\\images\\${name}\\sources\\boot.wim`));
      assert.ok(!device.toString('utf16le').includes('\0\\sources'), 'the media path is replaced, not kept');
    }
    const shown = await svc(root).show(name);
    assert.equal(shown.bcd.uefi?.entries.find((e) => e.wim)?.wim, `\\images\\${name}\\sources\\boot.wim`);
    assert.equal(shown.bcd.bios?.ramdiskOptions[0]?.tftpWindowSize, 32);
  });
}

test('bad input: a clear error and the root unchanged', async () => {
  const root = join(base, 'root-bad');
  const s = svc(root);
  await s.add(fx.media, 'existing');
  const before = snapshot(root);
  const refuse = async (source: string, name: string, re: RegExp, service = s) => {
    await assert.rejects(service.add(source, name, 'x64'), (e: Error) => e instanceof ImageRefused && re.test(e.message));
    assert.deepEqual(snapshot(root), before, `root unchanged after ${name}`);
  };
  writeFileSync(join(base, 'notes.txt'), 'not an image');
  await refuse(join(base, 'notes.txt'), 'text', /neither a folder, an ISO image nor a WIM/);
  mkdirSync(join(base, 'empty-media'), { recursive: true });
  await refuse(join(base, 'empty-media'), 'empty', /no sources\/boot\.wim/);
  await refuse(fx.media, 'existing', /already exists/);
  // A WIM without the network boot programs.
  winpeTree(join(base, 'nopxe-tree'), { pxe: false, efi: false });
  captureWim(join(base, 'nopxe-tree'), join(base, 'nopxe.wim'));
  await refuse(join(base, 'nopxe.wim'), 'nopxe', /no network boot programs/);
  // A truncated WIM and one whose boot manager's bytes were flipped (wimlib's SHA-1 check).
  const wim = readFileSync(fx.wim);
  writeFileSync(join(base, 'short.wim'), wim.subarray(0, 4096));
  await refuse(join(base, 'short.wim'), 'short', /not a readable WIM|cannot list|cannot extract/);
  const efi = fx.inWim['Windows/Boot/EFI/bootmgfw.efi'] as Buffer;
  const at = wim.indexOf(efi.subarray(0, 64));
  assert.ok(at > 0, 'the placeholder is stored uncompressed');
  const bad = Buffer.from(wim);
  bad.writeUInt8(bad.readUInt8(at + 1000) ^ 0xff, at + 1000);
  writeFileSync(join(base, 'flipped.wim'), bad);
  await refuse(join(base, 'flipped.wim'), 'flipped', /cannot extract the boot files .*damaged WIM/);
  // Not enough space: the check comes before anything is copied.
  await refuse(fx.iso, 'full', /not enough free space .* MiB needed, 1 MiB free/, svc(root, {}, async () => 1024 * 1024 + 5));
});

// Runs as root (the developers' machines and CI are): it mounts a small tmpfs and unmounts it.
test('a disk that fills up during the copy leaves nothing behind', async () => {
  const mnt = mkdtempSync(join(tmpdir(), 'bg-images-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt]);
  try {
    // The free-space check is told there is room, so the real ENOSPC of the small tmpfs is what stops it.
    await assert.rejects(svc(mnt, {}, async () => 1e12).add(fx.media, 'big'), /ENOSPC|no space/i);
    assert.deepEqual(readdirSync(join(mnt, 'images')), []);
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('profiles take boot programs and option 252 from their image; remove is refused while one is used; verify finds a changed file', async () => {
  const root = join(base, 'root-profiles');
  await svc(root).add(fx.media, 'winpe-a');
  await svc(root).add(fx.wim, 'winpe-b', 'x86');
  const profiles = {
    one: { image: 'winpe-a', bootFiles: { bios: 'undionly.kpxe' } },
    both: { image: { x64: 'winpe-a', x86: 'winpe-b' } },
    gone: { image: 'nothing-here' },
  };
  const cfg = { ...validateConfig({ profiles }, 'test'), root };
  const { cfg: r, errors } = resolveProfileImages(cfg);
  assert.deepEqual(errors, ['profiles.gone.image: no image named "nothing-here" in ' + join(root, 'images') + ' (bootgate image list shows the images)']);
  assert.deepEqual(r.profiles.one?.bootFiles, { 'efi-x64': 'images/winpe-a/bootmgfw.efi', bios: 'undionly.kpxe' });
  assert.deepEqual(r.profiles.both?.bootFiles, { 'efi-x64': 'images/winpe-a/bootmgfw.efi', 'efi-ia32': 'images/winpe-b/bootmgfw.efi', bios: 'images/winpe-a/pxeboot.n12' });
  const s = doorSettings(r, () => 0, null);
  assert.equal(s.bcdPathFor('both', 'efi-ia32'), '\\images\\winpe-b\\EFI\\Microsoft\\Boot\\BCD');
  assert.equal(s.bcdPathFor('both', 'bios'), '\\images\\winpe-a\\Boot\\BCD');
  assert.equal(s.bcdPathFor('both', null), null);
  const wrongArch = resolveProfileImages({ ...cfg, profiles: { p: { ...cfg.profiles.both!, image: { x64: 'winpe-b' } } } }).errors;
  assert.deepEqual(wrongArch, ['profiles.p.image.x64: image "winpe-b" is x86, not x64']);

  const used = new ImageService(() => ({ ...cfg, profiles: { both: cfg.profiles.both! } }));
  await assert.rejects(used.remove('winpe-b'), /used by profile both/);
  assert.deepEqual((await used.verify('winpe-b')).problems, []);
  appendFileSync(join(root, 'images/winpe-b/bootmgfw.efi'), 'x');
  const v = await used.verify('winpe-b');
  assert.equal(v.ok, false);
  assert.match(v.problems.join(), /bootmgfw\.efi: \d+ bytes, the manifest says/);
  await new ImageService(() => ({ ...cfg, profiles: {} })).remove('winpe-b');
  assert.deepEqual(readdirSync(join(root, 'images')), ['winpe-a']);
});

test('the boot manager\'s fetches of an added image over the TFTP engine: backslash paths, msftwindow, the BCD\'s block and window', async () => {
  const root = join(base, 'root-tftp');
  const m = await svc(root).add(fx.iso, 'winpe-net');
  const config = validateConfig({ tftp: { workers: 0, blockSizeMax: 1456, windowSizeMax: 32 } }, 'test').tftp;
  const server = await startTftpServer({
    root, address: '127.0.0.1', port: 0, config, metrics: createMetrics(),
    logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
  });
  try {
    const bcd = join(root, m.bcd.uefi as string);
    const block = Number(element(bcd, OPTS, '35000007').readBigUInt64LE());
    const window = Number(element(bcd, OPTS, '35000008').readBigUInt64LE());
    const req = { address: '127.0.0.1', port: server.port };
    for (const path of ['\\images\\winpe-net\\EFI\\Microsoft\\Boot\\BCD', '\\images\\winpe-net\\Boot\\boot.sdi', '\\images\\winpe-net\\sources\\boot.wim']) {
      // A fresh client (port) per file, as the boot manager's each request is: late packets of one
      // transfer must not be taken for the next one's.
      const client = await WireClient.open();
      const d = await download(client, req, path, { options: { blksize: String(block), windowsize: String(window), msftwindow: '31416', tsize: '0' } });
      await client.close();
      assert.equal(d.error, null, path);
      const rel = path.split('\\').slice(3).join('/');
      assert.equal(sha(d.data), m.files.find((f) => f.path === rel)?.sha256, path);
      assert.deepEqual({ blksize: d.oack?.blksize, windowsize: d.oack?.windowsize, msftwindow: d.oack?.msftwindow },
        { blksize: '1456', windowsize: '32', msftwindow: '27182' }, path);
    }
  } finally {
    await server.close();
  }
});

test('a transfer already running keeps reading its image after the profile moves on and the old image is removed', async () => {
  const root = join(base, 'root-switch');
  const old = await svc(root).add(fx.media, 'winpe-old');
  await svc(root).add(fx.wim, 'winpe-new', 'x64');
  const wimSha = old.files.find((f) => f.path === 'sources/boot.wim')?.sha256;
  assert.ok(wimSha);
  const config = validateConfig({ tftp: { workers: 1 } }, 'test').tftp;
  const server = await startTftpServer({
    root, address: '127.0.0.1', port: 0, config, metrics: createMetrics(),
    logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
  });
  const client = await WireClient.open();
  try {
    client.send({ op: 'rrq', filename: 'images/winpe-old/sources/boot.wim', mode: 'octet', options: { blksize: '1024' } }, { address: '127.0.0.1', port: server.port });
    const first = await client.next(60_000);
    assert.equal(first?.pkt.op, 'oack', 'the server accepts the transfer before the switch');
    const tid = first.from;

    // The profile now names the new image; with no user left the old one may go, mid-transfer.
    const moved = { ...validateConfig({ profiles: { winpe: { image: 'winpe-new' } } }, 'test'), root };
    const { cfg: resolved } = resolveProfileImages(moved);
    assert.equal(resolved.profiles.winpe?.bootFiles['efi-x64'], 'images/winpe-new/bootmgfw.efi');
    await new ImageService(() => moved).remove('winpe-old');
    assert.deepEqual(readdirSync(join(root, 'images')), ['winpe-new']);

    const parts: Buffer[] = [];
    let expected = 1;
    client.send({ op: 'ack', block: 0 }, tid);
    for (;;) {
      const r = await client.next(60_000);
      assert.ok(r, `block ${expected} arrives`);
      if (r.pkt.op === 'error') assert.fail(`the running transfer failed: ${r.pkt.message}`);
      if (r.pkt.op !== 'data' || r.pkt.block !== (expected & 0xffff)) continue;
      parts.push(Buffer.from(r.pkt.data));
      client.send({ op: 'ack', block: r.pkt.block }, tid);
      expected++;
      if (r.pkt.data.length < 1024) break;
    }
    assert.equal(sha(Buffer.concat(parts)), wimSha, 'the client got the old image whole');
  } finally {
    await client.close();
    await server.close();
  }
});
