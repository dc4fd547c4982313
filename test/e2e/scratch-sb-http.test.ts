/**
 * Secure Boot under real firmware, in the namespace lab: OVMF with Secure Boot enforced and Microsoft's
 * keys (Debian's OVMF_CODE_4M.secboot.fd + a fresh OVMF_VARS_4M.ms.fd, q35 with SMM), QEMU under TCG.
 *
 *   power-on 1: Bootgate offers the profile's ordinary program, Debian's unsigned ipxe.efi; the firmware
 *               fetches it and refuses it ("Access Denied"). Nothing is recorded yet.
 *   power-on 2 (the same machine after a power cycle): its new PXE DISCOVER is how Bootgate notices the
 *               refusal (recorded in the table, an audit event, a metric, a log line), and that very
 *               DISCOVER is answered with the Secure Boot chain: Debian's Microsoft-signed shim ->
 *               Debian's signed network GRUB (as grubx64.efi) -> the per-client grub.cfg Bootgate renders
 *               -> Debian's signed kernel -> the lab's marker, with the kernel saying Secure Boot is on.
 *
 * The site DHCP server names the appliance as next-server, as the README tells sites to: Debian's
 * signed GRUB configures its network from the DHCP ACK only. Missing prerequisites fail the test with
 * a message naming them; nothing is skipped. BOOTGATE_LAB_KEEP=1 keeps the lab directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAssets, type LabAssets } from '../lab/assets.js';
import { APP_ADDRESS, createLab, type Lab } from '../lab/netns.js';
import { OVMF_CODE_SECBOOT, OVMF_VARS_MS, randomMac, startClient } from '../lab/qemu.js';
import { LAB_HTTP_PORT, buildBootRoot, labScript, startBootgate, type Appliance } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { MARKER_RE } from '../lab/initramfs.js';
import { HANG_MS } from '../lab/procs.js';
import { openStore } from '../../daemon/store/db.js';

/** The signed chain as Debian's packages install it (the same files fetch-boot --secure-boot downloads). */
const SHIM = '/usr/lib/shim/shimx64.efi.signed';
const GRUB = '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed';
const DENIED_RE = /Access Denied/;

describe('SCRATCH Secure Boot, then shim -> GRUB -> signed kernel through Bootgate', { timeout: 40 * 60_000 }, () => {
  let lab: Lab | undefined;
  let assets: LabAssets | undefined;
  let app: Appliance | undefined;

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true });
    for (const [f, pkg] of [[SHIM, 'shim-signed'], [GRUB, 'grub-efi-amd64-signed'], [OVMF_CODE_SECBOOT, 'ovmf'], [OVMF_VARS_MS, 'ovmf']]) {
      if (!existsSync(f as string)) missing.push(`${f} (Debian package ${pkg})`);
    }
    assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
    assets = await ensureAssets();
    lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1', siteNextServer: APP_ADDRESS });
    const script = labScript('{{http}}');
    const root = buildBootRoot(lab, assets, script, 'root-secureboot');
    copyFileSync(SHIM, join(root, 'shimx64.efi'));
    copyFileSync(GRUB, join(root, 'grubx64.efi'));
    app = await startBootgate(lab, {
      root, ipxeScript: script, scriptTransport: 'http',
      extraConfig: {
        profiles: {
          lab: {
            description: 'firmware lab: iPXE for machines without Secure Boot, shim and GRUB for the others',
            bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
            secureBootFiles: { 'efi-x64': 'shimx64.efi' },
            ipxeScript: script,
            // panic=-1: a broken boot reboots at once, which -no-reboot turns into QEMU exiting.
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

  function report(what: string, serial: string): string {
    return [`${what}; lab directory ${lab?.dir} (BOOTGATE_LAB_KEEP=1 keeps it)`, '--- serial (tail) ---', serial.slice(-4000),
      '--- bootgate log (tail) ---', app?.log().slice(-6000) ?? ''].join('\n');
  }

  async function metrics(): Promise<string> {
    assert.ok(lab);
    return (await lab.run(['curl', '-sf', `http://${lab.appAddress}:${LAB_HTTP_PORT}/metrics`], lab.appNs)).stdout;
  }

  test('scratch: same power cycle', { timeout: 4 * HANG_MS }, async (t) => {
    assert.ok(lab && app);
    const mac = randomMac();
    const vm = await startClient(lab, { firmware: 'uefi-secureboot', mac, name: 'sb-http' });
    try {
      const denied = await vm.waitForSerial(DENIED_RE, HANG_MS);
      t.diagnostic(`denied ${Boolean(denied)} after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
      const m = await vm.waitForSerial(MARKER_RE, 6 * 60_000);
      t.diagnostic(`marker ${Boolean(m)} after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
    } finally {
      await vm.stop();
    }
  });
});
