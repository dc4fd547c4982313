/**
 * The README's first command, with real firmware: a fresh copy of the tree, `fetch-boot --kernel` into
 * it, then `bootgate serve --root boot` on the embedded defaults (no config file) in the namespace lab.
 * Every unknown machine gets the built-in menu:
 *
 *   default (local disk): SeaBIOS + iPXE ROM falls through to the lab's local disk (its boot sector
 *   prints BOOTGATE-LOCAL-DISK); OVMF gets ipxe.efi and the menu, and iPXE ends the network boot with
 *   the failure status that makes a UEFI firmware try its next boot option (see the OVMF test for what
 *   this iPXE build then does); with ipxe.efi started from a disk, OVMF goes on to the local disk's EFI
 *   system partition (its BOOTX64.EFI prints the same marker);
 *   menu.default=linux (BOOTGATE_MENU_DEFAULT, as an admin without a config file would set it): both
 *   reach the small Linux fetch-boot built (its /init prints "Bootgate small Linux" on ttyS0).
 *
 * The kernel comes from the lab's cached Debian kernel (FETCH_BOOT_VMLINUZ) rather than a second
 * download; iPXE and the busybox initramfs are fetched and built by the script as an admin's would be.
 * Missing prerequisites fail the tests with a message naming them; nothing is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureAssets, type LabAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import { LAB_HTTP_PORT, bootgateCli, waitListening } from '../lab/appliance.js';
import { LOCAL_RE, VM_TIMEOUT_MS, efiProgramDisk, localDisk, powerOn, uefiDiskBootOrder, uefiLocalDisk } from '../lab/local-disk.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { runCommand, type Tracked } from '../lab/procs.js';
import { startClient, type Firmware } from '../lab/qemu.js';

const SMALL_LINUX_RE = /Bootgate small Linux: kernel \S+/;
const LOCAL_CHOICE_RE = /Bootgate: booting from the local disk/;

describe('first boot: fetch-boot + serve on the embedded defaults, real firmware', { timeout: 25 * 60_000 }, () => {
  let lab: Lab | undefined;
  let assets: LabAssets | undefined;
  let tree = '';
  let disk = '';
  let uefiDisk = '';
  let daemon: Tracked | undefined;

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true, uefiDisk: true });
    assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
    assets = await ensureAssets();
    lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1' });
    // A fresh copy of the tree as a clean clone has it: the fetch script, and no boot/ yet.
    const repo = dirname(dirname(dirname(bootgateCli())));
    tree = join(lab.dir, 'clone');
    cpSync(join(repo, 'scripts'), join(tree, 'scripts'), { recursive: true });
    assert.equal(existsSync(join(tree, 'boot')), false);
    const r = await runCommand(['env', `FETCH_BOOT_VMLINUZ=${assets.kernel}`, 'bash', join(tree, 'scripts', 'fetch-boot.sh'), '--kernel'], { cwd: tree, timeoutMs: 300_000 });
    assert.deepEqual(readdirSync(join(tree, 'boot')).sort(), ['initrd.img', 'ipxe.efi', 'snponly.efi', 'undionly.kpxe', 'vmlinuz'], r.stdout);
    disk = localDisk(lab.dir);
    uefiDisk = await uefiLocalDisk(lab.dir);
  });

  after(async () => {
    if (lab && daemon) await lab.stop(daemon);
    await lab?.destroy();
  });

  /** `node dist/daemon/bootgate.js serve --root boot` in the fresh tree, with only these variables set. */
  async function serve(env: string[]): Promise<Tracked> {
    assert.ok(lab, 'the lab did not start');
    if (daemon) await lab.stop(daemon);
    daemon = lab.spawn(`bootgate-${env.length}`, ['env', '-C', tree, ...env, process.execPath, bootgateCli(), 'serve', '--root', 'boot'], lab.appNs);
    await waitListening(lab, daemon, [67, 4011, 69], [LAB_HTTP_PORT], /"msg":"bootgate ready"/);
    return daemon;
  }

  async function http(path: string): Promise<{ status: number; body: string }> {
    assert.ok(lab);
    const r = await lab.run(['curl', '-sS', '-m', '10', '-w', '\n%{http_code}', `http://${lab.appAddress}:${LAB_HTTP_PORT}${path}`], lab.appNs);
    const at = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
  }

  function report(what: string, serial: string): string {
    return [`${what}; lab directory ${lab?.dir} (BOOTGATE_LAB_KEEP=1 keeps it)`, '--- serial (tail) ---', serial.slice(-3000),
      '--- bootgate log (tail) ---', lab && daemon ? lab.readLog(daemon).slice(-3000) : ''].join('\n');
  }

  describe('default menu: the local disk', () => {
    before(async () => {
      await serve([]);
    });

    test('ready with every check ok, / is the page, only boot files are served', async () => {
      const ready = await http('/readyz');
      assert.equal(ready.status, 200, ready.body);
      assert.deepEqual(JSON.parse(ready.body), { ready: true, checks: { sockets: 'ok', root: 'ok', store: 'ok', unknownProfile: 'ok' }, missingFiles: [] });
      const home = await http('/');
      assert.equal(home.status, 200);
      assert.match(home.body, /<h1>Bootgate [0-9.]+<\/h1>[\s\S]*\/api\/v1\/openapi\.json/);
      assert.equal((await http('/ipxe.efi')).status, 200);
      for (const p of ['/fetch-boot.sh', '/README.md', '/boot.ipxe']) assert.equal((await http(p)).status, 404, p);
    });

    test('SeaBIOS + iPXE ROM: the menu times out to the local disk', { timeout: VM_TIMEOUT_MS + 60_000 }, async (t) => {
      assert.ok(lab);
      const r = await powerOn(lab, { firmware: 'bios', disk });
      t.diagnostic(`bios: ${r.reached ?? 'nothing'} after ${(r.ms / 1000).toFixed(1)} s`);
      assert.equal(r.reached, 'local', report('no local-disk marker', r.serial));
      assert.match(r.serial, LOCAL_CHOICE_RE, 'the menu chose the local disk');
    });

    // Under OVMF the VM has the UEFI local disk after the NIC in its boot order, as a PC set to network
    // first. Verified: the menu, its timeout to the local-disk entry, and iPXE ending the boot with the
    // failure status the entry exits with on UEFI ("Error 0x00000001": EDK2's boot manager goes on to its
    // next boot option only after a failure, and opens its own boot menu after a success). Not verified,
    // because it does not happen with Debian's iPXE (1.0.0+git-20190125): OVMF booting the disk next.
    // With ipxe.efi loaded by OVMF's PXE, control never comes back to OVMF's boot manager (no "BdsDxe:
    // failed to start" line, no output at all for 8 minutes; the same binary started from a disk
    // returns, and OVMF then boots the next disk: the next test). With snponly.efi it does: OVMF then
    // tries PXE over IPv6 (no offer), then HTTP boot, which gets snponly.efi from the daemon and stalls
    // after the URI line.
    test('OVMF: ipxe.efi, the menu times out to its local-disk entry, iPXE ends with a failure status', { timeout: VM_TIMEOUT_MS + 60_000 }, async (t) => {
      assert.ok(lab);
      const vm = await startClient(lab, { firmware: 'uefi', disk: uefiDisk });
      try {
        const chose = await vm.waitForSerial(LOCAL_CHOICE_RE, VM_TIMEOUT_MS);
        assert.ok(chose, report('the menu did not choose the local disk', vm.serial()));
        t.diagnostic(`uefi: local-disk entry after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
        assert.match(vm.serial(), /Machine 52:54:00:[0-9a-f:]{8}/, 'the menu showed the machine');
        const failed = await vm.waitForSerial(/Bootgate: booting from the local disk\s+Could not boot image: Error 0x00000001[\s\S]*No more network devices/, 60_000);
        assert.ok(failed, report('iPXE did not end the network boot with status 1', vm.serial()));
        assert.doesNotMatch(vm.serial(), SMALL_LINUX_RE);
      } finally {
        await vm.stop();
      }
    });

    // The fall-through itself under OVMF, with iPXE started from a disk (an iPXE USB stick, or iPXE
    // installed on the PC) instead of by OVMF's PXE: the same ipxe.efi and the same menu from the
    // daemon; its local-disk entry exits with status 1 and OVMF boots its next boot option, the local
    // disk's EFI system partition.
    test('OVMF, ipxe.efi from a disk: the menu times out to the local disk, OVMF boots the disk', { timeout: VM_TIMEOUT_MS + 60_000 }, async (t) => {
      assert.ok(lab);
      const ipxeDisk = await efiProgramDisk(lab.dir, 'ipxe-disk', join(tree, 'boot', 'ipxe.efi'));
      const r = await powerOn(lab, { firmware: 'uefi', extraArgs: uefiDiskBootOrder([ipxeDisk, uefiDisk]) });
      t.diagnostic(`uefi, iPXE from a disk: ${r.reached ?? 'nothing'} after ${(r.ms / 1000).toFixed(1)} s`);
      assert.equal(r.reached, 'local', report('no local-disk marker', r.serial));
      assert.match(r.serial, /Machine 52:54:00:[0-9a-f:]{8}/, 'the menu showed the machine');
      assert.match(r.serial, new RegExp(`${LOCAL_CHOICE_RE.source}\\s+Could not boot image: Error 0x00000001[\\s\\S]*${LOCAL_RE.source}`),
        'the menu chose the local disk, iPXE ended with status 1, then the disk booted');
      assert.doesNotMatch(r.serial, SMALL_LINUX_RE);
    });
  });

  describe('menu.default=linux: the small Linux', () => {
    before(async () => {
      await serve(['BOOTGATE_MENU_DEFAULT=linux']);
    });

    for (const firmware of ['bios', 'uefi'] as Firmware[]) {
      test(`${firmware === 'bios' ? 'SeaBIOS + iPXE ROM' : 'OVMF'} boots the small Linux from the menu`, { timeout: VM_TIMEOUT_MS + 60_000 }, async (t) => {
        assert.ok(lab);
        const vm = await startClient(lab, firmware === 'bios' ? { firmware, disk } : { firmware });
        try {
          const hit = await vm.waitForSerial(SMALL_LINUX_RE, VM_TIMEOUT_MS);
          t.diagnostic(`${firmware}: ${hit ? hit[0] : 'no small Linux'} after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
          assert.ok(hit, report('the small Linux did not start', vm.serial()));
          assert.doesNotMatch(vm.serial(), LOCAL_RE);
        } finally {
          await vm.stop();
        }
      });
    }
  });
});
