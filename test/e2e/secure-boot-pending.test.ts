/**
 * Secure Boot and approval, under real firmware (OVMF with Secure Boot enforced and Microsoft's keys,
 * QEMU under TCG, the namespace lab): an unknown machine under the `pending` policy, marked as a Secure
 * Boot machine, is sent shim; its GRUB shows the waiting message from the per-client grub.cfg and asks
 * again every retrySeconds; an admin approves it through the API; GRUB's next ask boots Debian's signed
 * kernel to the lab's marker, in the same power cycle (no new DHCP exchange after the approval).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomMac, startClient } from '../lab/qemu.js';
import { MARKER_RE } from '../lab/initramfs.js';
import { HANG_MS } from '../lab/procs.js';
import { startSecureBootLab, type SecureBootLab } from '../lab/secure-boot.js';

const RETRY_SECONDS = 10;

describe('Secure Boot: a pending machine waits in GRUB, is approved, and GRUB\'s retry boots it', { timeout: 30 * 60_000 }, () => {
  let sb: SecureBootLab | undefined;

  before(async () => {
    sb = await startSecureBootLab({
      rootName: 'root-secureboot-pending',
      config: (script) => ({
        policy: { unknown: { action: 'pending', profile: 'lab', retrySeconds: RETRY_SECONDS } },
        profiles: {
          lab: {
            description: 'iPXE for machines without Secure Boot, shim and GRUB for the others',
            bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
            secureBootFiles: { 'efi-x64': 'shimx64.efi' },
            ipxeScript: script,
            linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0 panic=-1' },
          },
        },
      }),
    });
  });

  after(async () => {
    await sb?.stop();
  });

  test('waiting message in GRUB, approval through the API, the retry boots the marker without a power cycle', { timeout: 3 * HANG_MS }, async (t) => {
    assert.ok(sb);
    const { lab, app } = sb;
    const mac = randomMac();
    const uuid = '00112233-4455-6677-8899-aabbccdd5b02';
    assert.equal((await sb.api('PUT', `/secure-boot/${mac}`)).status, 200);
    const vm = await startClient(lab, { firmware: 'uefi-secureboot', mac, uuid, name: 'sb-pending' });
    try {
      const waiting = await vm.waitForSerial(/Bootgate: waiting for an administrator to approve this machine; asking again in 10 s/, HANG_MS);
      assert.ok(waiting, sb.report('GRUB did not show the waiting message', vm.serial()));
      t.diagnostic(`waiting message in GRUB after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
      const queue = ((await sb.api('GET', '/pending')).json as { devices: Array<{ mac: string }> }).devices;
      assert.ok(queue.some((d) => d.mac === mac), JSON.stringify(queue));

      const logBefore = app.log().length;
      const approved = await sb.api('POST', `/pending/${mac}/approve`, { name: 'SB-PENDING', profile: 'lab' });
      assert.equal(approved.status, 201, JSON.stringify(approved.json));
      const approvedAt = Date.now();

      const marker = await vm.waitForSerial(MARKER_RE, HANG_MS);
      assert.ok(marker, sb.report('no marker after the approval', vm.serial()));
      t.diagnostic(`marker ${((Date.now() - approvedAt) / 1000).toFixed(1)} s after the approval (${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s after power-on)`);
      assert.equal(marker[1], mac);
      assert.equal(marker[2], uuid);
      assert.match(vm.serial(), /Secure boot enabled/i);
      await vm.waitForExit(HANG_MS);

      const decisions = (text: string) => text.split('\n').filter((l) => l.includes(`"mac":"${mac}"`) && l.includes('"msg":"decision"'))
        .map((l) => JSON.parse(l) as { door: string; file?: string; decision: string; reason: string });
      const beforeApproval = decisions(app.log().slice(0, logBefore));
      assert.ok(beforeApproval.some((d) => d.door === 'dhcp' && d.decision === 'pending'), 'the PXE DISCOVER was decided pending');
      assert.ok(beforeApproval.some((d) => d.door === 'tftp' && d.file?.replace(/^\//, '') === 'grub/grub.cfg' && d.decision === 'pending'), 'GRUB asked and was told to wait');
      const afterApproval = decisions(app.log().slice(logBefore));
      assert.deepEqual(afterApproval.filter((d) => d.door === 'dhcp' || d.door === 'pxe'), [], 'no new DHCP exchange: the same power cycle');
      assert.ok(afterApproval.some((d) => d.door === 'tftp' && d.file?.replace(/^\//, '') === 'grub/grub.cfg' && d.decision === 'boot'), 'GRUB\'s retry got the boot');
    } finally {
      await vm.stop();
    }
  });
});
