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
import { buildBootRoot, labScript, LAB_HTTP_PORT, startBootgate, startDnsmasqProxy, type Appliance, type Transport } from './appliance.js';
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

const missing = missingPrerequisites({ bootgate: values.appliance === 'bootgate' });
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
    let app: Appliance;
    if (values.appliance === 'dnsmasq') {
      const base = transport === 'http' ? `http://${lab.appAddress}:${LAB_HTTP_PORT}` : `tftp://${lab.appAddress}`;
      const root = buildBootRoot(lab, assets, labScript(base), `root-${transport}`);
      app = await startDnsmasqProxy(lab, { root, scriptTransport: transport });
    } else {
      const script = labScript(transport === 'http' ? '{{http}}' : '{{tftp}}');
      const root = buildBootRoot(lab, assets, script, `root-${transport}`);
      app = await startBootgate(lab, { root, ipxeScript: script, scriptTransport: transport });
    }
    try {
      for (const firmware of values.firmware.split(',') as Firmware[]) {
        const r = await bootClient(lab, { firmware, timeoutMs: Number(values.timeout) * 1000 });
        const ok = r.marker?.mac === r.mac && r.marker.uuid === r.uuid;
        if (!ok) failures += 1;
        console.log(`${ok ? 'OK  ' : 'FAIL'} ${firmware} ${transport} via ${app.kind}: ${(r.durationMs / 1000).toFixed(1)} s mac=${r.mac} uuid=${r.uuid} marker=${r.marker?.line ?? 'none'}${r.timedOut ? ' (timed out)' : ''}`);
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
