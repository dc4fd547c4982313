/**
 * The per-client GRUB and PXELINUX configurations for every decision, which paths name them, and the
 * boot content door rendering them for the client asking (by MAC in the name, or by its address).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { grubConfig, loaderConfigPath, pxelinuxConfig, type LoaderInput } from '../../daemon/boot/loader-config.js';
import { BootContent } from '../../daemon/boot/content.js';
import { ClientDirectory } from '../../daemon/boot/clients.js';
import { Gatekeeper, configOnlyBackend } from '../../daemon/boot/gatekeeper.js';
import { validateConfig } from '../../daemon/config/load.js';
import { effectiveConfig } from '../../daemon/config/defaults.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { snapshotFromConfig } from '../../daemon/policy/decide.js';
import type { Decision } from '../../daemon/policy/types.js';

const MAC = '52:54:00:77:00:05';
const LINUX = { kernel: 'linux/vmlinuz', initrd: 'linux/initrd.img', cmdline: 'console=ttyS0 quiet' };

function input(decision: Decision, over: Partial<LoaderInput> = {}): LoaderInput {
  return {
    mac: MAC, computer: 'LAB-PC-005', decision, server: '10.77.0.2', linux: LINUX, menu: null, retrySeconds: 30,
    selfPath: 'grub/grub.cfg', version: '0.1.0', ...over,
  };
}

const BOOT: Decision = { kind: 'boot', profile: 'lab', target: { transport: 'tftp', path: 'shimx64.efi' }, computer: 'LAB-PC-005', reason: 'known' };

describe('GRUB configuration', () => {
  test('boot: the profile\'s kernel, initrd and command line from the appliance over TFTP, at once', () => {
    const text = grubConfig(input(BOOT));
    assert.match(text, /^echo 'Bootgate 0\.1\.0: LAB-PC-005 52:54:00:77:00:05 boot lab \(known\)'$/m);
    assert.match(text, /^set timeout=0$/m);
    assert.match(text, /^set default=linux$/m);
    assert.match(text, /^ {2}linux \(tftp,10\.77\.0\.2\)\/linux\/vmlinuz console=ttyS0 quiet$/m);
    assert.match(text, /^ {2}initrd \(tftp,10\.77\.0\.2\)\/linux\/initrd\.img$/m);
    assert.doesNotMatch(text, /--id local/);
  });

  test('the built-in menu: local disk by default with the small Linux beside it, or Linux when chosen', () => {
    const local = grubConfig(input({ ...BOOT, profile: 'menu' }, { menu: { default: 'local', timeoutSeconds: 5 } }));
    assert.match(local, /^set default=local$/m);
    assert.match(local, /^ {2}exit$/m);
    const linux = grubConfig(input({ ...BOOT, profile: 'menu' }, { menu: { default: 'linux', timeoutSeconds: 5 } }));
    assert.match(linux, /^set timeout=5$/m);
    assert.match(linux, /^set default=linux$/m);
    assert.match(linux, /--id local \{/);
  });

  test('local: exit to the firmware\'s next boot device', () => {
    const text = grubConfig(input({ kind: 'local', computer: null, reason: 'boot-once-consumed' }));
    assert.match(text, /^set default=local$/m);
    assert.match(text, /^ {2}exit$/m);
    assert.doesNotMatch(text, /linux \(tftp/);
  });

  test('pending: says so, waits retrySeconds, reads its own configuration again', () => {
    const text = grubConfig(input({ kind: 'pending', reason: 'unknown-pending' }, { retrySeconds: 45, selfPath: 'grub/x86_64-efi/grub.cfg' }));
    assert.match(text, /waiting for an administrator/);
    assert.match(text, /^sleep 45$/m);
    assert.match(text, /^configfile \(tftp,10\.77\.0\.2\)\/grub\/x86_64-efi\/grub\.cfg$/m);
  });

  test('password: the form (grub-password.test.ts); a profile without a kernel: the local disk, with the reason on the screen', () => {
    const pw = grubConfig(input({ kind: 'password', profile: 'lab', target: { transport: 'tftp', path: 'ipxe.efi' }, computer: null, reason: 'password-required' }));
    assert.match(pw, /password gated\. Type the boot password/);
    assert.match(pw, /^set default=local$/m);
    const none = grubConfig(input(BOOT, { linux: null }));
    assert.match(none, /names no kernel/);
    assert.match(none, /^set default=local$/m);
  });

  test('what a client or the inventory sends cannot break out of a quoted string', () => {
    const text = grubConfig(input({ ...BOOT, computer: "x'; reboot; echo '" }, { computer: "x'; reboot; echo '" }));
    assert.doesNotMatch(text, /'; reboot/);
  });

  test('an unsafe kernel path is refused, not rendered', () => {
    assert.throws(() => grubConfig(input(BOOT, { linux: { ...LINUX, kernel: '../etc/passwd' } })), /unsafe path/);
  });
});

describe('PXELINUX configuration', () => {
  test('boot', () => {
    const text = pxelinuxConfig(input(BOOT));
    assert.match(text, /^DEFAULT linux$/m);
    assert.match(text, /^ {2}KERNEL linux\/vmlinuz$/m);
    assert.match(text, /^ {2}INITRD linux\/initrd\.img$/m);
    assert.match(text, /^ {2}APPEND console=ttyS0 quiet$/m);
  });

  test('local, pending, password', () => {
    assert.match(pxelinuxConfig(input({ kind: 'local', computer: null, reason: 'outside-window' })), /^ {2}LOCALBOOT 0$/m);
    const wait = pxelinuxConfig(input({ kind: 'pending', reason: 'pending' }, { retrySeconds: 30 }));
    assert.match(wait, /^TIMEOUT 300$/m);
    assert.match(wait, /^ {2}KERNEL pxelinux\.0$/m);
    // The prompt (pxelinux-password.test.ts): no kernel before the check, the local disk when nobody types.
    const pw = pxelinuxConfig(input({ kind: 'password', profile: 'lab', target: { transport: 'tftp', path: 'pxelinux.0' }, computer: null, reason: 'password-required' }));
    assert.match(pw, /^PROMPT 1$/m);
    assert.match(pw, /^ONERROR \.config ::/m);
    assert.match(pw, /^ {2}LOCALBOOT 0$/m);
    assert.doesNotMatch(pw, /^ {2}KERNEL /m);
  });
});

describe('which paths are loader configurations', () => {
  const rows: Array<[string, ReturnType<typeof loaderConfigPath>]> = [
    ['/grub/grub.cfg', { loader: 'grub', mac: null }],
    ['grub/x86_64-efi/grub.cfg', { loader: 'grub', mac: null }],
    ['boot/grub/grub.cfg', { loader: 'grub', mac: null }],
    ['pxelinux.cfg/01-52-54-00-77-00-05', { loader: 'pxelinux', mac: MAC }],
    ['bios/pxelinux.cfg/01-52-54-00-77-00-05', { loader: 'pxelinux', mac: MAC }],
    ['pxelinux.cfg/default', { loader: 'pxelinux', mac: null }],
    ['pxelinux.cfg/C0A80001', null],
    ['grub/x86_64-efi/command.lst', null],
    ['grubx64.efi', null],
  ];
  for (const [path, want] of rows) test(path, () => assert.deepEqual(loaderConfigPath(path), want));
});

describe('the content door renders them for the client asking', () => {
  test('GRUB by the client\'s address, PXELINUX by the MAC in the name; an unknown address is not found; a file in the root wins', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bg-loader-'));
    try {
      for (const f of ['vmlinuz', 'initrd.img', 'ipxe.efi', 'shimx64.efi', 'grubx64.efi']) writeFileSync(join(root, f), 'x');
      const cfg = effectiveConfig(validateConfig({ root, menu: { default: 'linux' } }, 'test'));
      const clients = new ClientDirectory();
      clients.seen({
        mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
        vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: '10.77.0.105', door: 'pxe',
      }, '10.77.0.2');
      const gate = new Gatekeeper(configOnlyBackend(snapshotFromConfig(cfg)), createLogger('silent'), createMetrics(new Registry()));
      const content = new BootContent(gate, clients, () => ({
        root, httpPort: 8080, scriptTransport: 'http', retrySeconds: 30, profile: (n) => cfg.profiles[n], profiles: cfg.profiles,
        menu: cfg.menu, version: '0.1.0',
      }));
      const grub = await content.forTftp('/grub/grub.cfg', '10.77.0.105', '10.77.0.2');
      assert.equal(grub.kind, 'content');
      const text = grub.kind === 'content' ? grub.data.toString() : '';
      assert.match(text, /52:54:00:77:00:05 boot menu/);
      assert.match(text, /^ {2}linux \(tftp,10\.77\.0\.2\)\/vmlinuz console=ttyS0,115200 console=tty0$/m);
      const stranger = await content.forTftp('/grub/grub.cfg', '10.77.0.199', '10.77.0.2');
      assert.equal(stranger.kind, 'refuse');
      const pxe = await content.forTftp('pxelinux.cfg/01-52-54-00-77-00-09', '10.77.0.109', '10.77.0.2');
      assert.equal(pxe.kind, 'content');
      assert.match(pxe.kind === 'content' ? pxe.data.toString() : '', /52:54:00:77:00:09/);
      mkdirSync(join(root, 'grub'));
      writeFileSync(join(root, 'grub', 'grub.cfg'), 'set timeout=1\n');
      const own = await content.forTftp('/grub/grub.cfg', '10.77.0.105', '10.77.0.2');
      assert.deepEqual(own, { kind: 'file', path: 'grub/grub.cfg' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
