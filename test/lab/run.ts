/**
 * Manual driver for the firmware lab (not a test): boots VMs against an appliance and prints what
 * happened, for debugging and for measuring timings.
 *
 *   node dist/test/lab/run.js [--appliance bootgate|dnsmasq] [--firmware bios,uefi] [--transport tftp,http]
 *                             [--no-ra] [--capture FILE.pcap] [--keep] [--timeout SECONDS]
 */
import { parseArgs } from 'node:util';
import { ensureAssets } from './assets.js';
import { createLab } from './netns.js';
import { bootClient, type Firmware } from './qemu.js';
import { applianceEvidence, startLabAppliance, type ApplianceKind, type Transport } from './appliance.js';
import { missingPrerequisites } from './prereq.js';

const { values } = parseArgs({
  options: {
    appliance: { type: 'string', default: 'bootgate' },
    firmware: { type: 'string', default: 'bios,uefi' },
    transport: { type: 'string', default: 'tftp,http' },
    'no-ra': { type: 'boolean', default: false },
    capture: { type: 'string' },
    keep: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '120' },
  },
});

if (values.appliance !== 'bootgate' && values.appliance !== 'dnsmasq') {
  console.error('--appliance must be bootgate or dnsmasq');
  process.exit(2);
}
const missing = missingPrerequisites({ bootgate: values.appliance === 'bootgate', capture: values.capture !== undefined });
if (missing.length > 0) {
  console.error(`missing prerequisites:\n  ${missing.join('\n  ')}`);
  process.exit(2);
}

const t0 = Date.now();
const assets = await ensureAssets();
console.log(`assets: ${assets.kernelPackage} ${assets.kernelVersion} modules=${assets.modules.join(',')} (${Date.now() - t0} ms)`);
const lab = await createLab({ routerAdverts: !values['no-ra'], capturePath: values.capture, keepDir: values.keep });
console.log(`lab ${lab.id} in ${lab.dir}`);
let failures = 0;
try {
  for (const transport of values.transport.split(',') as Transport[]) {
    const app = await startLabAppliance(lab, assets, values.appliance as ApplianceKind, transport);
    try {
      for (const firmware of values.firmware.split(',') as Firmware[]) {
        const r = await bootClient(lab, { firmware, timeoutMs: Number(values.timeout) * 1000 });
        const ok = r.marker?.mac === r.mac && r.marker.uuid === r.uuid;
        if (!ok) failures += 1;
        console.log(`${ok ? 'OK  ' : 'FAIL'} ${firmware} ${transport} via ${app.kind}: ${(r.durationMs / 1000).toFixed(1)} s mac=${r.mac} uuid=${r.uuid} marker=${r.marker?.line ?? 'none'}${r.timedOut ? ' (timed out)' : ''}`);
        console.log(`     appliance: ${applianceEvidence(app, r.mac).summary.join(' | ')}`);
        if (!ok) console.log(`--- serial ---\n${r.serial.slice(-3000)}\n--- appliance log ---\n${app.log().slice(-3000)}`);
      }
    } finally {
      await app.stop();
    }
  }
} finally {
  await lab.destroy();
}
console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s, ${failures} failed`);
process.exitCode = failures === 0 ? 0 : 1;
