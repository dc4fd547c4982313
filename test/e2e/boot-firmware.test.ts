/**
 * Real firmware boots through Bootgate: QEMU clients under TCG in the namespace
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
import { LAB_HTTP_PORT, applianceEvidence, startLabAppliance, type Appliance, type ApplianceKind } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { HANG_MS, pollUntil } from '../lab/procs.js';
import { statSync } from 'node:fs';

/** Sum of the samples of `name` whose labels include every pair in `labels`, from Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Bootgate's /metrics, scraped from inside the appliance's namespace. */
async function scrape(lab: Lab): Promise<string> {
  return (await lab.run(['curl', '-sf', `http://${lab.appAddress}:${LAB_HTTP_PORT}/metrics`], lab.appNs)).stdout;
}

/**
 * One VM, start to marker: the safety net for a hung VM (HANG_MS), not an expected duration. TCG boots
 * take ~7 s (BIOS) and ~20 s (UEFI) on an idle machine and several times that on a busy one.
 */
const VM_TIMEOUT_MS = HANG_MS;

/**
 * Waits until Bootgate has no TFTP session open (bootgate_tftp_active_sessions 0): every transfer
 * started so far has ended and been counted with its result. Taken before a boot, a session left over
 * from the previous test cannot end inside this test's deltas; after it, a session of this boot that
 * is still winding down (its last ACK, or a timeout) is counted here rather than missed.
 */
async function tftpSettled(lab: Lab): Promise<string> {
  const text = await pollUntil(async () => {
    const t = await scrape(lab);
    return sample(t, 'bootgate_tftp_active_sessions') === 0 ? t : undefined;
  }, HANG_MS, 250);
  assert.ok(text !== undefined, `TFTP sessions still open after ${HANG_MS} ms`);
  return text;
}

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

describe(`real firmware network-boots Linux through ${APPLIANCE === 'bootgate' ? 'Bootgate' : 'the dnsmasq anchor'}`, { timeout: 60 * 60_000 }, () => {
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
        test(`${firmware === 'bios' ? 'SeaBIOS + iPXE ROM' : 'OVMF PXE'} boots via ${transport}`, { timeout: 4 * HANG_MS }, async (t) => {
          assert.ok(lab && app && assets, 'the lab or the appliance did not start');
          const before = APPLIANCE === 'bootgate' ? await tftpSettled(lab) : '';
          const r = await bootClient(lab, { firmware, timeoutMs: VM_TIMEOUT_MS });
          t.diagnostic(`${firmware} via ${transport}: marker after ${(r.durationMs / 1000).toFixed(1)} s`);
          assert.ok(r.marker, failureReport(r, app, lab));
          assert.equal(r.marker.mac, r.mac, 'the marker names another NIC');
          assert.equal(r.marker.uuid, r.uuid, 'the marker names another SMBIOS UUID');
          assert.ok(r.exit, 'the VM did not power off after printing the marker');
          const evidence = applianceEvidence(app, r.mac);
          t.diagnostic(`${app.kind}: ${evidence.summary.join(' | ')}`);
          assert.ok(evidence.booted, `${app.kind} logged no boot decision for ${r.mac}`);
          if (APPLIANCE === 'bootgate') {
            // The metrics tell the same story as the boot: each relevant counter moved by what this one boot did.
            const afterText = await tftpSettled(lab);
            const delta = (name: string, labels: Record<string, string> = {}) => sample(afterText, name, labels) - sample(before, name, labels);
            const payload = statSync(assets.kernel).size + statSync(assets.initrd).size;
            // QEMU's BIOS NIC ROM is iPXE itself (one DISCOVER); OVMF asks first, then the ipxe.efi it loaded asks again.
            assert.ok(delta('bootgate_dhcp_packets_total', { port: '67', result: 'answered' }) >= (firmware === 'uefi' ? 2 : 1), 'port 67 answered');
            if (firmware === 'uefi') assert.ok(delta('bootgate_dhcp_packets_total', { port: '4011', result: 'answered' }) >= 1, 'OVMF asked 4011 and was answered');
            assert.ok(delta('bootgate_decisions_total', { door: 'ipxe-script', decision: 'boot' }) >= 1, 'the script door decided to boot');
            assert.equal(delta('bootgate_decisions_total', { decision: 'ignore' }), 0, 'nothing of this boot was ignored');
            if (transport === 'http') {
              assert.equal(delta('bootgate_http_transfers_total', { kind: 'file', result: 'ok' }), 2, 'kernel and initramfs by HTTP');
              assert.equal(delta('bootgate_http_bytes_total'), payload, 'HTTP bytes = kernel + initramfs');
              assert.ok(delta('bootgate_http_transfers_total', { kind: 'script', result: 'ok' }) >= 1);
            } else {
              assert.ok(delta('bootgate_tftp_transfers_total', { result: 'ok' }) >= 3, 'script, kernel and initramfs by TFTP');
              assert.ok(delta('bootgate_tftp_bytes_total') >= payload, 'TFTP bytes cover kernel + initramfs');
            }
            assert.equal(delta('bootgate_tftp_transfers_total', { result: 'error' }) + delta('bootgate_tftp_transfers_total', { result: 'timeout' }), 0);
          }
        });
      }
    });
  }
});
