/**
 * PXELINUX as a first-class client, in the namespace lab: SeaBIOS with QEMU's iPXE NIC ROM is offered
 * Debian's pxelinux.0, which asks Bootgate for `pxelinux.cfg/<uuid>`, then `pxelinux.cfg/01-<mac>`: that
 * name is rendered for this machine from the decision (the profile's `linux` keys), and PXELINUX boots
 * the lab's kernel and initramfs to the marker. PXELINUX fails on an OACK option it did not ask for, so
 * reaching the marker is also the proof that none of Bootgate's OACKs carried one.
 *
 * A password-gated profile: PXELINUX shows Bootgate's `boot:` prompt, the words typed there (on the
 * VM's keyboard) come back as TFTP requests that Bootgate checks: a wrong one shows the prompt again,
 * the right one boots the profile's (gated) kernel. QEMU's NIC ROM is iPXE, which a gated profile would
 * prompt itself; so the machine is unknown at first (the ungated profile sends it pxelinux.0) and is
 * held by the lab's own configuration for its UUID, the name PXELINUX asks for first, until the test
 * has put it in the inventory on the gated profile.
 *
 * Missing prerequisites fail the test with a message naming them; nothing is skipped.
 * BOOTGATE_LAB_KEEP=1 keeps the lab directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import { bootClient, randomMac } from '../lab/qemu.js';
import { LAB_HTTP_PORT, adminApi, adminTokensFile, buildBootRoot, setBootPassword, startBootgate, type Appliance } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { MARKER_RE } from '../lab/initramfs.js';
import { HANG_MS } from '../lab/procs.js';
import { startTypingClient } from '../lab/keyboard.js';

const PXELINUX = '/usr/lib/PXELINUX/pxelinux.0';
const LDLINUX = '/usr/lib/syslinux/modules/bios/ldlinux.c32';
/** The held machine's UUID: its first three fields read the same in either byte order (SMBIOS or wire). */
const HOLD_UUID = '11111111-2222-2222-8899-aabbccdd0016';
const HOLD_MAC = randomMac();
const RIGHT = 'open-sesame-16';
const WRONG = 'not-it';

describe('PXELINUX boots its per-client configuration from Bootgate', { timeout: 20 * 60_000 }, () => {
  let lab: Lab | undefined;
  let app: Appliance | undefined;

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true });
    for (const [f, pkg] of [[PXELINUX, 'pxelinux'], [LDLINUX, 'syslinux-common']]) {
      if (!existsSync(f as string)) missing.push(`${f} (Debian package ${pkg})`);
    }
    assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
    const assets = await ensureAssets();
    lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1' });
    const root = buildBootRoot(lab, assets, '#!ipxe\nexit 1\n', 'root-pxelinux');
    copyFileSync(PXELINUX, join(root, 'pxelinux.0'));
    copyFileSync(LDLINUX, join(root, 'ldlinux.c32'));
    // The gated profile's own copies: its files are refused to every machine not unlocked for it.
    mkdirSync(join(root, 'gated'));
    for (const f of ['vmlinuz', 'initrd.img']) copyFileSync(join(root, f), join(root, 'gated', f));
    mkdirSync(join(root, 'pxelinux.cfg'));
    writeFileSync(join(root, 'pxelinux.cfg', HOLD_UUID), [
      'SAY lab: held before asking Bootgate; Enter asks it for this machine',
      'PROMPT 1', 'TIMEOUT 0', 'DEFAULT next',
      'LABEL next', `  CONFIG pxelinux.cfg/01-${HOLD_MAC.replace(/:/g, '-')}`, '',
    ].join('\n'));
    app = await startBootgate(lab, {
      root, ipxeScript: '', scriptTransport: 'tftp',
      extraConfig: {
        admin: { tokensFile: adminTokensFile(lab) },
        profiles: {
          // No iPXE script: the BIOS machine's iPXE ROM is offered pxelinux.0 and chains it.
          lab: {
            description: 'PXELINUX with a per-client configuration',
            bootFiles: { bios: 'pxelinux.0' },
            linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0 panic=-1' },
          },
          gated: {
            description: 'the same behind a boot password: PXELINUX prompts, Bootgate checks',
            bootFiles: { bios: 'pxelinux.0' },
            linux: { kernel: 'gated/vmlinuz', initrd: 'gated/initrd.img', cmdline: 'console=ttyS0 panic=-1' },
            password: { mode: 'required', files: ['gated/'] },
          },
        },
      },
    });
    setBootPassword(lab, 'gated', RIGHT);
  });

  after(async () => {
    await app?.stop();
    await lab?.destroy();
  });

  test('SeaBIOS + iPXE ROM -> pxelinux.0 -> pxelinux.cfg/01-<mac> -> kernel -> marker', { timeout: 2 * HANG_MS }, async (t) => {
    assert.ok(lab && app);
    const r = await bootClient(lab, { firmware: 'bios' });
    const log = app.log();
    assert.ok(r.marker, [`no marker (${r.timedOut ? 'timed out' : JSON.stringify(r.exit)}); lab directory ${lab.dir}`,
      '--- serial (tail) ---', r.serial.slice(-3000), '--- bootgate log (tail) ---', log.slice(-5000)].join('\n'));
    t.diagnostic(`marker after ${(r.durationMs / 1000).toFixed(1)} s`);
    assert.equal(r.marker.mac, r.mac);
    const cfgName = `pxelinux.cfg/01-${r.mac.replace(/:/g, '-')}`;
    // Every transfer this one machine (the lab's only client) completed.
    const files = log.split('\n').filter((l) => l.includes('"msg":"tftp transfer ended"') && l.includes('"result":"ok"'))
      .map((l) => (JSON.parse(l) as { file?: string }).file?.replace(/^\//, ''));
    for (const want of ['pxelinux.0', cfgName, 'vmlinuz', 'initrd.img']) {
      assert.ok(files.includes(want), `${want} fetched over TFTP (fetched: ${files.join(', ')})`);
    }
    // The rendered name was decided for this machine (the console's SAY line is not asserted: under TCG
    // PXELINUX's banner and cursor moves can interleave with it).
    assert.match(log, new RegExp(`"mac":"${r.mac}"[^\\n]*"door":"tftp","decision":"boot","reason":"unknown-boot","profile":"lab","file":"${cfgName}"`));
  });

  test('a password-gated profile: PXELINUX prompts, a wrong password is refused, the right one boots', { timeout: 3 * HANG_MS }, async (t) => {
    assert.ok(lab && app);
    const api = adminApi(lab);
    const v = await startTypingClient(lab, { firmware: 'bios', mac: HOLD_MAC, uuid: HOLD_UUID, name: 'pxe-password' });
    const report = (what: string) => [`${what}; lab directory ${lab?.dir} (BOOTGATE_LAB_KEEP=1 keeps it)`, '--- serial (tail) ---',
      v.client.serial().slice(-4000), '--- bootgate log (tail) ---', app?.log().slice(-6000) ?? ''].join('\n');
    try {
      await v.next(/lab: held before asking Bootgate/);
      const put = await api('POST', '/computers', { name: 'PXE-GATED', macs: [HOLD_MAC], profile: 'gated' });
      assert.equal(put.status, 201, JSON.stringify(put.json));
      await v.next(/boot:/);
      await v.press('ret');
      await v.next(/profile gated is password gated\./);
      await v.next(/type it and press Enter/);
      await v.next(/boot:/);
      t.diagnostic(`PXELINUX prompt after ${((Date.now() - v.client.startedAt) / 1000).toFixed(1)} s`);
      await v.type(WRONG);
      await v.press('ret');
      await v.next(/Bootgate: wrong password; \d+ tries left/);
      t.diagnostic(`wrong password refused after ${((Date.now() - v.client.startedAt) / 1000).toFixed(1)} s`);
      await v.next(/boot:/);
      assert.doesNotMatch(v.client.serial(), MARKER_RE);
      await v.type(RIGHT);
      await v.press('ret');
      const m = await v.next(MARKER_RE);
      t.diagnostic(`marker after ${((Date.now() - v.client.startedAt) / 1000).toFixed(1)} s`);
      assert.equal(m[1], HOLD_MAC);
    } catch (err) {
      throw new Error(report((err as Error).message), { cause: err });
    } finally {
      v.kb.close();
      await v.client.stop();
    }
    const log = app.log();
    const cfgName = `pxelinux.cfg/01-${HOLD_MAC.replace(/:/g, '-')}`;
    assert.match(log, new RegExp(`"mac":"${HOLD_MAC}"[^\\n]*"door":"tftp","decision":"password"[^\\n]*"file":"${cfgName}"`), 'the prompt was rendered for this machine');
    assert.match(log, new RegExp(`"mac":"${HOLD_MAC}"[^\\n]*"door":"tftp","decision":"boot","reason":"unlocked"[^\\n]*"file":"gated/vmlinuz"`), 'the gated kernel went to the unlocked machine');
    assert.match(log, /wrong boot password/);
    assert.match(log, /boot password accepted: unlocked/);
    assert.ok(!log.includes(RIGHT) && !log.includes(WRONG), 'the daemon log contains a typed word');
    const metrics = (await lab.run(['curl', '-sf', `http://${lab.appAddress}:${LAB_HTTP_PORT}/metrics`], lab.appNs)).stdout;
    assert.match(metrics, /^bootgate_password_attempts_total\{result="wrong"\} 1$/m);
    assert.match(metrics, /^bootgate_password_attempts_total\{result="ok"\} 1$/m);
  });
});
