/**
 * A site with its own Secure Boot keys, under real firmware: OVMF with Secure Boot enforced and Debian's
 * test keys enrolled (OVMF_VARS_4M.snakeoil.fd); iPXE and the lab's kernel signed at test time with
 * `sbsign` and PkKek-1-snakeoil.key, as a site signs with its own enrolled key. A machine marked as a
 * Secure Boot machine (on the database, while the daemon runs) is offered the profile's signed iPXE
 * (`secureBootFiles`) and gets every iPXE feature: its per-client script, then the signed kernel, to the
 * lab's marker, with the kernel saying Secure Boot is on. The password gate works the same under Secure
 * Boot: a gated profile's prompt refuses a wrong password and boots on the right one.
 *
 * Missing prerequisites fail the test with a message naming them; nothing is skipped.
 * BOOTGATE_LAB_KEEP=1 keeps the lab directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OVMF_VARS_SNAKEOIL, randomMac, startClient } from '../lab/qemu.js';
import { IPXE_DIR, labScript, setBootPassword } from '../lab/appliance.js';
import { startTypingClient } from '../lab/keyboard.js';
import { MARKER_RE } from '../lab/initramfs.js';
import { HANG_MS, runCommand } from '../lab/procs.js';
import { startSecureBootLab, type SecureBootLab } from '../lab/secure-boot.js';
import { openStore } from '../../daemon/store/db.js';
import { SecureBootAdmin } from '../../daemon/features/secureboot/service.js';

const KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
const CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';
/** Debian's README for ovmf gives the test key's passphrase. */
const PASSPHRASE = 'snakeoil';
const RIGHT = 'sb-boot-4417';
const WRONG = 'wrong-sb-1';

describe('Secure Boot with the site\'s own keys: a signed iPXE keeps every iPXE feature', { timeout: 20 * 60_000 }, () => {
  let sb: SecureBootLab | undefined;

  before(async () => {
    sb = await startSecureBootLab({
      rootName: 'root-own-keys',
      extraPrerequisites: [[KEY, 'ovmf'], [CERT, 'ovmf'], [OVMF_VARS_SNAKEOIL, 'ovmf'], ['/usr/bin/sbsign', 'sbsigntool'], ['/usr/bin/openssl', 'openssl']],
      config: (script) => ({
        profiles: {
          lab: {
            description: 'iPXE, signed with the site\'s key for Secure Boot machines',
            bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
            secureBootFiles: { 'efi-x64': 'ipxe-signed.efi' },
            ipxeScript: script,
          },
          gated: {
            description: 'the same, behind a boot password',
            bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
            secureBootFiles: { 'efi-x64': 'ipxe-signed.efi' },
            ipxeScript: labScript('{{http}}/gated'),
            password: { mode: 'required', files: ['gated/'] },
          },
        },
      }),
    });
    const { lab, root, assets } = sb;
    // Signed into the root the running daemon serves (it reads files when they are asked for).
    const key = join(lab.dir, 'snakeoil-key.pem');
    await runCommand(['openssl', 'pkey', '-in', KEY, '-passin', `pass:${PASSPHRASE}`, '-out', key]);
    await runCommand(['sbsign', '--key', key, '--cert', CERT, '--output', join(root, 'ipxe-signed.efi'), join(IPXE_DIR, 'ipxe.efi')]);
    // The kernel keeps Debian's signature and gains the site's (the firmware's db trusts only the latter).
    await runCommand(['sbsign', '--key', key, '--cert', CERT, '--output', join(root, 'vmlinuz'), assets.kernel]);
    // The gated profile's own copies: a profile's gated files are refused to every client not unlocked for it.
    mkdirSync(join(root, 'gated'));
    copyFileSync(join(root, 'vmlinuz'), join(root, 'gated', 'vmlinuz'));
    copyFileSync(join(root, 'initrd.img'), join(root, 'gated', 'initrd.img'));
    setBootPassword(lab, 'gated', RIGHT);
  });

  after(async () => {
    await sb?.stop();
  });

  test('marked machine: signed iPXE -> its script -> the signed kernel -> marker', { timeout: 2 * HANG_MS }, async (t) => {
    assert.ok(sb);
    const { lab, app } = sb;
    const mac = randomMac();
    const store = openStore(join(lab.dir, 'bootgate.db'), { mustExist: true });
    try {
      new SecureBootAdmin(store).mark(mac, 'cli');
    } finally {
      store.close();
    }
    const vm = await startClient(lab, { firmware: 'uefi-secureboot-snakeoil', mac, name: 'own-keys' });
    try {
      const marker = await vm.waitForSerial(MARKER_RE, HANG_MS);
      assert.ok(marker, [`no marker; lab directory ${lab.dir}`, '--- serial (tail) ---', vm.serial().slice(-4000),
        '--- bootgate log (tail) ---', app.log().slice(-5000)].join('\n'));
      t.diagnostic(`marker after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
      assert.equal(marker[1], mac);
      assert.match(vm.serial(), /Secure boot enabled/i, 'the kernel reported Secure Boot on');
      await vm.waitForExit(HANG_MS);
    } finally {
      await vm.stop();
    }
    const log = app.log();
    assert.match(log, new RegExp(`"mac":"${mac}"[^\\n]*"door":"dhcp","decision":"boot"[^\\n]*"file":"ipxe-signed.efi"`), 'the signed iPXE was offered');
    assert.match(log, new RegExp(`"mac":"${mac}"[^\\n]*"door":"ipxe-script","decision":"boot"`), 'iPXE fetched its per-client script');
    assert.doesNotMatch(log, new RegExp(`"mac":"${mac}"[^\\n]*"file":"ipxe.efi"`), 'the unsigned iPXE was never offered');
  });

  test('marked machine on a password-gated profile: a wrong password is refused, the right one boots under Secure Boot', { timeout: 3 * HANG_MS }, async (t) => {
    assert.ok(sb);
    const { lab, app } = sb;
    const mac = randomMac();
    const store = openStore(join(lab.dir, 'bootgate.db'), { mustExist: true });
    try {
      new SecureBootAdmin(store).mark(mac, 'cli');
      store.computers.insert({ name: 'SB-GATED', macs: [mac], guid: null, profile: 'gated', kind: null, notes: '', sourceComputer: null }, Date.now());
    } finally {
      store.close();
    }
    const v = await startTypingClient(lab, { firmware: 'uefi-secureboot-snakeoil', mac, name: 'own-keys-pw' });
    try {
      await v.next(/is about to boot profile gated\./);
      await v.login(WRONG);
      await v.next(/Wrong password\./);
      await v.press('ret');
      await v.login(RIGHT);
      const m = await v.next(MARKER_RE);
      t.diagnostic(`marker after ${((Date.now() - v.client.startedAt) / 1000).toFixed(1)} s`);
      assert.equal(m[1], mac);
      assert.match(v.client.serial(), /Secure boot enabled/i);
      assert.ok(!v.client.serial().includes(RIGHT), 'the password was echoed on the console');
    } finally {
      v.kb.close();
      await v.client.stop();
    }
    const log = app.log();
    assert.match(log, new RegExp(`"mac":"${mac}"[^\\n]*"door":"dhcp","decision":"password"[^\\n]*"file":"ipxe-signed.efi"`), 'the signed iPXE was offered to prompt');
    assert.ok(!log.includes(RIGHT), 'the daemon log contains the password');
  });
});
