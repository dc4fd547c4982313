/**
 * Who may boot what, with real firmware in the namespace lab (test/lab):
 *
 *   1. unknown = ignore: an unknown machine gets nothing from Bootgate and boots its local disk
 *      (a 1 MiB disk whose boot sector prints BOOTGATE-LOCAL-DISK on COM1 and powers off);
 *   2. an imported machine boots its profile (imported by SMBIOS GUID only, as `-uuid` writes it:
 *      the firmware sends the other byte order; and a UEFI machine imported by MAC);
 *   3. pending: the machine is recorded, shows the waiting script, is approved through the admin API
 *      and boots on its next try;
 *   4. a required deployment boots once (consumed when its completion marker, the initramfs, has been
 *      served), the second power-on reaches the local disk within 15 s, and after `clear` it
 *      network-boots again.
 *
 * Admin calls go to the daemon's /api/v1 with curl inside the appliance's namespace. Missing
 * prerequisites fail the tests with a message naming them; nothing is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAssets, type LabAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import { randomMac } from '../lab/qemu.js';
import { LOCAL_RE, VM_TIMEOUT_MS, localDisk, powerOn } from '../lab/local-disk.js';
import {
  LAB_HTTP_PORT, applianceEvidence, bootgateConfig, buildBootRoot, labScript, startBootgate, type Appliance,
} from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { HANG_MS, pollUntil } from '../lab/procs.js';

const TOKEN = 'lab-admin-token-0123456789abcdef';
// The console wraps at 80 columns, so match a part that fits on the first line.
const WAITING_RE = /is waiting for an administrator/;
/**
 * SeaBIOS hands over to the NIC's iPXE ROM: the network boot begins. Power-on self test before it is
 * pure emulation, which TCG on a shared CPU stretches several-fold; what Bootgate decides shows after.
 */
const ROM_START_RE = /iPXE \(PCI [0-9a-f:.]+\) starting execution/;

describe('policy paths with real firmware through Bootgate', { timeout: 90 * 60_000 }, () => {
  let lab: Lab | undefined;
  let assets: LabAssets | undefined;
  let root = '';
  let disk = '';
  let script = '';
  let app: Appliance | undefined;

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true });
    assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
    assets = await ensureAssets();
    lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1' });
    script = labScript('{{http}}');
    root = buildBootRoot(lab, assets, script, 'root-policy');
    disk = localDisk(lab.dir);
    writeFileSync(join(lab.dir, 'admin-tokens'), `${TOKEN}\n`);
  });

  after(async () => {
    await app?.stop();
    await lab?.destroy();
  });

  /** (Re)starts the daemon with this unknown-computer policy; the database in lab.dir carries over. */
  async function daemon(unknown: Record<string, unknown>): Promise<Appliance> {
    assert.ok(lab, 'the lab did not start');
    await app?.stop();
    const base = bootgateConfig(lab, { root, ipxeScript: script, scriptTransport: 'http' });
    const lab0 = (base.profiles as Record<string, Record<string, unknown>>).lab;
    app = await startBootgate(lab, {
      root, ipxeScript: script, scriptTransport: 'http',
      extraConfig: {
        admin: { tokensFile: join(lab.dir, 'admin-tokens') },
        policy: { unknown },
        profiles: { lab: lab0, 'lab-once': { ...lab0, kind: 'required', bootOnceMarker: 'initrd.img' } },
      },
    });
    return app;
  }

  /** The admin API, from inside the appliance's namespace. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the admin API's JSON, read field by field by the assertions
  async function api(method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; json: any }> {
    assert.ok(lab, 'the lab did not start');
    const argv = ['curl', '-sS', '-m', '10', '-X', method, '-H', `authorization: Bearer ${TOKEN}`, '-w', '\n%{http_code}'];
    if (body !== undefined) {
      const file = join(lab.dir, `api-body-${randomUUID()}`);
      writeFileSync(file, body);
      argv.push('-H', `content-type: ${contentType}`, '--data-binary', `@${file}`);
    }
    argv.push(`http://${lab.appAddress}:${LAB_HTTP_PORT}/api/v1${path}`);
    const r = await lab.run(argv, lab.appNs, 15_000);
    const nl = r.stdout.lastIndexOf('\n');
    const text = r.stdout.slice(0, nl);
    return { status: Number(r.stdout.slice(nl + 1)), json: text ? JSON.parse(text) : null };
  }

  function decisions(mac: string): string[] {
    assert.ok(app, 'no appliance');
    return applianceEvidence(app, mac).summary;
  }

  test('1. unknown = ignore: nothing from Bootgate, the machine boots its local disk', { timeout: VM_TIMEOUT_MS + 60_000 }, async (t) => {
    await daemon({ action: 'ignore', profile: 'lab' });
    assert.ok(lab);
    const mac = randomMac();
    const r = await powerOn(lab, { firmware: 'bios', mac, disk });
    t.diagnostic(`local disk after ${(r.ms / 1000).toFixed(1)} s; decisions ${decisions(mac).join(' | ')}`);
    assert.equal(r.reached, 'local', `no local-disk marker:\n${r.serial.slice(-3000)}`);
    const seen = decisions(mac);
    assert.ok(seen.length > 0, 'Bootgate logged no decision for the machine');
    assert.ok(seen.every((d) => /:ignore:unknown-ignore/.test(d)), `Bootgate answered: ${seen.join(' | ')}`);
  });

  test('2. an imported machine boots its profile (BIOS by SMBIOS GUID only, UEFI by MAC)', { timeout: 2 * VM_TIMEOUT_MS + 60_000 }, async (t) => {
    assert.ok(lab);
    const bios = { mac: randomMac(), uuid: randomUUID() };
    const uefi = { mac: randomMac(), uuid: randomUUID() };
    // `-uuid` is the big-endian reading; the firmware sends the SMBIOS (mixed-endian) order in option 97.
    const csv = `Name,MAC,SMBIOS GUID,Profile\nLAB-BIOS,,${bios.uuid},lab\nLAB-UEFI,${uefi.mac},,lab\n`;
    const imp = await api('POST', '/computers/import', csv, 'text/csv');
    assert.deepEqual([imp.status, imp.json], [200, { created: 2, updated: 0, ignoredColumns: [] }]);
    for (const [firmware, m] of [['bios', bios], ['uefi', uefi]] as const) {
      const r = await powerOn(lab, { firmware, ...m });
      t.diagnostic(`${firmware}: marker after ${(r.ms / 1000).toFixed(1)} s; decisions ${decisions(m.mac).join(' | ')}`);
      assert.equal(r.reached, 'linux', `${firmware}: no boot marker:\n${r.serial.slice(-3000)}`);
      assert.equal(r.linux?.[1], m.mac);
      assert.equal(r.linux?.[2], m.uuid);
      assert.ok(decisions(m.mac).some((d) => /:boot:known/.test(d)), `${firmware}: no known-computer boot decision`);
    }
  });

  test('3. pending: recorded, approved through the API, boots on its next try', { timeout: VM_TIMEOUT_MS + 90_000 }, async (t) => {
    await daemon({ action: 'pending', profile: 'lab', retrySeconds: 5 });
    assert.ok(lab);
    const mac = randomMac();
    let approvedAt = 0;
    const r = await powerOn(lab, { firmware: 'bios', mac }, VM_TIMEOUT_MS, async (serial) => {
      // The machine shows it waits; the admin sees it in the pending list and approves it.
      // The waiting script on the console is the event; HANG_MS only ends a VM that hangs.
      const shown = await pollUntil(() => (WAITING_RE.test(serial()) ? true : undefined), HANG_MS, 250);
      assert.ok(shown, `the waiting script never showed:\n${serial().slice(-3000)}`);
      // The pending record is written off the answer path (batched), so it may land just after the
      // script shows: wait for it to appear in the list; HANG_MS only ends a wait that never does.
      let last: unknown = null;
      const dev = await pollUntil(async () => {
        const list = await api('GET', '/pending');
        last = list.json;
        return (list.json.devices as Array<{ mac: string; attempts: number; arch: string }>).find((d) => d.mac === mac);
      }, HANG_MS, 250);
      assert.ok(dev, `not in the pending list: ${JSON.stringify(last)}`);
      assert.equal(dev.arch, 'bios');
      const ok = await api('POST', `/pending/${mac}/approve`, JSON.stringify({ name: 'LAB-PENDING', profile: 'lab' }));
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
      approvedAt = Date.now();
    });
    t.diagnostic(`booted ${((Date.now() - approvedAt) / 1000).toFixed(1)} s after approval; decisions ${decisions(mac).join(' | ')}`);
    assert.equal(r.reached, 'linux', `no boot after approval:\n${r.serial.slice(-3000)}`);
    assert.equal(r.linux?.[1], mac);
    const seen = decisions(mac);
    assert.ok(seen.some((d) => /:pending:(unknown-pending|pending)/.test(d)), 'no pending decision');
    assert.ok(seen.some((d) => /:boot:known/.test(d)), 'no boot decision after approval');
  });

  test('4. a required deployment boots once, then the local disk within 15 s, and again after clear', { timeout: 3 * VM_TIMEOUT_MS + 60_000 }, async (t) => {
    await daemon({ action: 'ignore', profile: 'lab' });
    assert.ok(lab);
    const vm = { mac: randomMac(), uuid: randomUUID(), disk };
    const add = await api('POST', '/computers', JSON.stringify({ name: 'LAB-ONCE', macs: [vm.mac], profile: 'lab-once' }));
    assert.deepEqual([add.status, add.json.effectiveKind], [201, 'required']);

    const first = await powerOn(lab, { firmware: 'bios', ...vm });
    t.diagnostic(`first power-on: network boot after ${(first.ms / 1000).toFixed(1)} s`);
    assert.equal(first.reached, 'linux', `the required deployment did not boot:\n${first.serial.slice(-3000)}`);
    let consumed: { consumedAt: string | null; consumedBy: string | null } = { consumedAt: null, consumedBy: null };
    // Consumption is recorded when the marker file is served; wait for the API to show it (HANG_MS is the safety net).
    await pollUntil(async () => {
      consumed = (await api('GET', `/computers/${vm.mac}`)).json.bootOnce;
      return consumed.consumedAt === null ? undefined : true;
    }, HANG_MS, 250);
    assert.equal(consumed.consumedBy, 'marker:initrd.img', 'serving the completion marker did not consume the deployment');

    // The 15 s run from the NIC ROM's start (a serial-console event) to the local disk's marker: DHCP,
    // Bootgate's answer, the exit script and the disk boot, without QEMU's start and SeaBIOS's POST.
    let romAt = 0;
    const second = await powerOn(lab, { firmware: 'bios', ...vm }, VM_TIMEOUT_MS, async (serial) => {
      await pollUntil(() => (ROM_START_RE.test(serial()) || LOCAL_RE.test(serial()) ? true : undefined), HANG_MS, 50);
      if (ROM_START_RE.test(serial())) romAt = Date.now();
    });
    const fromRom = second.reachedAt - romAt;
    t.diagnostic(`second power-on: local disk after ${(second.ms / 1000).toFixed(1)} s, ${(fromRom / 1000).toFixed(1)} s after the NIC ROM started`);
    assert.equal(second.reached, 'local', `the second power-on did not reach the local disk:\n${second.serial.slice(-3000)}`);
    assert.ok(romAt > 0, `the NIC ROM never started:\n${second.serial.slice(-3000)}`);
    assert.ok(fromRom < 15_000, `local disk only ${fromRom} ms after the NIC ROM started (limit 15 s)`);
    assert.ok(decisions(vm.mac).some((d) => /:local:boot-once-consumed/.test(d)), 'no boot-once-consumed decision');

    const clear = await api('POST', `/computers/LAB-ONCE/clear`);
    assert.deepEqual([clear.status, clear.json.bootOnce.consumedAt], [200, null]);
    const third = await powerOn(lab, { firmware: 'bios', ...vm });
    t.diagnostic(`after clear: network boot after ${(third.ms / 1000).toFixed(1)} s`);
    assert.equal(third.reached, 'linux', `after clear the machine did not network-boot:\n${third.serial.slice(-3000)}`);
  });
});
