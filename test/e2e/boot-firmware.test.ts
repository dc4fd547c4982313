/**
 * Real firmware boots through Bootgate (issue 2, evidence): QEMU clients under TCG in the namespace
 * lab (test/lab), the site's DHCP server handing out addresses only, Bootgate as the appliance.
 *
 *   BIOS: SeaBIOS + QEMU's iPXE NIC ROM -> Bootgate's iPXE script -> kernel + initramfs
 *   UEFI: OVMF's own PXE -> proxy offer / 4011 -> ipxe.efi by TFTP -> script -> kernel + initramfs
 *
 * once with kernel and initramfs by TFTP (script by TFTP too) and once by HTTP (script by HTTP). The
 * initramfs prints `BOOTGATE-MARKER mac=<eth0> uuid=<SMBIOS UUID>`; each test asserts the VM's own
 * MAC and UUID came back, and that Bootgate logged a boot decision for that MAC.
 *
 * Missing prerequisites (root, qemu, ovmf, ipxe, dnsmasq, busybox-static, a built daemon) fail the
 * tests with a message naming them; nothing is skipped. BOOTGATE_LAB_KEEP=1 keeps the lab's
 * directory (logs, serial consoles, configs); BOOTGATE_LAB_CAPTURE=<file.pcap> records the bridge.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureAssets, type LabAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import { bootClient, type BootResult, type Firmware } from '../lab/qemu.js';
import { applianceEvidence, startLabAppliance, type Appliance, type ApplianceKind } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';

/** One VM, start to marker; TCG boots take ~7 s (BIOS) and ~20 s (UEFI) on an idle machine. */
const VM_TIMEOUT_MS = 120_000;

/**
 * The appliance under test: Bootgate. BOOTGATE_LAB_APPLIANCE=dnsmasq runs the same boots against
 * dnsmasq in proxy mode, the anchor, to tell a lab problem from a Bootgate one.
 */
const APPLIANCE: ApplianceKind = process.env.BOOTGATE_LAB_APPLIANCE === 'dnsmasq' ? 'dnsmasq' : 'bootgate';

function failureReport(r: BootResult, app: Appliance, lab: Lab): string {
  const why = r.timedOut ? `no marker within ${VM_TIMEOUT_MS} ms (VM killed)` : `VM exited without the marker (${JSON.stringify(r.exit)})`;
  return [
    `${why}; lab directory ${lab.dir} (set BOOTGATE_LAB_KEEP=1 to keep it)`,
    '--- serial console (tail) ---',
    r.serial.slice(-4000),
    `--- ${app.kind} log (tail) ---`,
    app.log().slice(-4000),
  ].join('\n');
}

describe(`real firmware network-boots Linux through ${APPLIANCE === 'bootgate' ? 'Bootgate' : 'the dnsmasq anchor'}`, { timeout: 20 * 60_000 }, () => {
  let lab: Lab | undefined;
  let assets: LabAssets | undefined;

  before(async () => {
    const missing = missingPrerequisites({ bootgate: APPLIANCE === 'bootgate', capture: Boolean(process.env.BOOTGATE_LAB_CAPTURE) });
    assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
    assets = await ensureAssets();
    lab = await createLab({
      routerAdverts: true,
      keepDir: process.env.BOOTGATE_LAB_KEEP === '1',
      capturePath: process.env.BOOTGATE_LAB_CAPTURE,
    });
  });

  after(async () => {
    await lab?.destroy();
  });

  for (const transport of ['tftp', 'http'] as const) {
    describe(`kernel and initramfs by ${transport.toUpperCase()}`, () => {
      let app: Appliance | undefined;

      before(async () => {
        assert.ok(lab && assets, 'the lab did not start');
        app = await startLabAppliance(lab, assets, APPLIANCE, transport);
      });

      after(async () => {
        await app?.stop();
      });

      for (const firmware of ['bios', 'uefi'] as Firmware[]) {
        test(`${firmware === 'bios' ? 'SeaBIOS + iPXE ROM' : 'OVMF PXE'} boots via ${transport}`, { timeout: VM_TIMEOUT_MS + 60_000 }, async (t) => {
          assert.ok(lab && app, 'the lab or the appliance did not start');
          const r = await bootClient(lab, { firmware, timeoutMs: VM_TIMEOUT_MS });
          t.diagnostic(`${firmware} via ${transport}: marker after ${(r.durationMs / 1000).toFixed(1)} s`);
          assert.ok(r.marker, failureReport(r, app, lab));
          assert.equal(r.marker.mac, r.mac, 'the marker names another NIC');
          assert.equal(r.marker.uuid, r.uuid, 'the marker names another SMBIOS UUID');
          assert.ok(r.exit, 'the VM did not power off after printing the marker');
          const evidence = applianceEvidence(app, r.mac);
          t.diagnostic(`${app.kind}: ${evidence.summary.join(' | ')}`);
          assert.ok(evidence.booted, `${app.kind} logged no boot decision for ${r.mac}`);
        });
      }
    });
  }
});
