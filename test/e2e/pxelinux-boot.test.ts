/**
 * PXELINUX as a first-class client, in the namespace lab: SeaBIOS with QEMU's iPXE NIC ROM is offered
 * Debian's pxelinux.0, which asks Bootgate for `pxelinux.cfg/<uuid>`, then `pxelinux.cfg/01-<mac>`: that
 * name is rendered for this machine from the decision (the profile's `linux` keys), and PXELINUX boots
 * the lab's kernel and initramfs to the marker. PXELINUX fails on an OACK option it did not ask for, so
 * reaching the marker is also the proof that none of Bootgate's OACKs carried one.
 *
 * Missing prerequisites fail the test with a message naming them; nothing is skipped.
 * BOOTGATE_LAB_KEEP=1 keeps the lab directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import { bootClient } from '../lab/qemu.js';
import { buildBootRoot, startBootgate, type Appliance } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { HANG_MS } from '../lab/procs.js';

const PXELINUX = '/usr/lib/PXELINUX/pxelinux.0';
const LDLINUX = '/usr/lib/syslinux/modules/bios/ldlinux.c32';

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
    app = await startBootgate(lab, {
      root, ipxeScript: '', scriptTransport: 'tftp',
      extraConfig: {
        profiles: {
          // No iPXE script: the BIOS machine's iPXE ROM is offered pxelinux.0 and chains it.
          lab: {
            description: 'PXELINUX with a per-client configuration',
            bootFiles: { bios: 'pxelinux.0' },
            linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0 panic=-1' },
          },
        },
      },
    });
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
});
