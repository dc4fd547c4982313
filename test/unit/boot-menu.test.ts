/**
 * The built-in boot menu: rendered per client and per decision, default local disk after the timeout,
 * nothing from a client or the inventory can inject iPXE syntax; a profile picked from the menu is a
 * decision of its own (only for a client offered the menu, only a listed profile, with its password gate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { menuScript, menuText, type MenuInput } from '../../daemon/boot/menu.js';
import { effectiveConfig } from '../../daemon/config/defaults.js';
import { validateConfig } from '../../daemon/config/load.js';
import { decide, snapshotFromConfig } from '../../daemon/policy/decide.js';
import { choiceFromScriptPath, ipxeChoicePath } from '../../daemon/policy/target.js';
import type { ClientInfo } from '../../daemon/policy/types.js';

const M: MenuInput = {
  mac: '52:54:00:77:00:01', guid: '00112233-4455-6677-8899-aabbccddee01', computer: '', decision: 'boot menu', reason: 'unknown-boot',
  base: 'http://10.77.0.2:8080', linux: true, profiles: [], default: 'local', timeoutSeconds: 5, version: '0.1.0',
};

test('the menu shows MAC, GUID, computer and decision, and defaults to the local disk after the timeout', () => {
  const lines = menuScript(M).split('\n');
  assert.equal(lines[0], '#!ipxe');
  assert.ok(lines.includes('item --gap -- Machine   52:54:00:77:00:01'));
  assert.ok(lines.includes('item --gap -- GUID      00112233-4455-6677-8899-aabbccddee01'));
  assert.ok(lines.includes('item --gap -- Computer  (not in the inventory)'));
  assert.ok(lines.includes('item --gap -- Decision  boot menu (unknown-boot)'));
  assert.ok(lines.includes('choose --default local --timeout 5000 target || goto local'));
  // Local disk: BIOS boots drive 0x80, anything else hands back to the firmware; UEFI with a failure
  // status, so the firmware goes on to its next boot option instead of its boot menu.
  const local = lines.indexOf(':local');
  assert.deepEqual(lines.slice(local + 2, local + 5), ['iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 ||', 'iseq ${platform} efi && exit 1 ||', 'exit 0']);
  assert.ok(lines.includes('kernel http://10.77.0.2:8080/vmlinuz initrd=initrd.img console=ttyS0,115200 console=tty0 || goto failed'));
  assert.ok(lines.includes('initrd http://10.77.0.2:8080/initrd.img || goto failed'));
  assert.ok(lines.includes('item shell iPXE shell') && lines.includes('shell'));
});

test('per decision and client: a known computer by name, no GUID, the Linux default, profile entries', () => {
  const s = menuScript({
    ...M, computer: 'PC-01', guid: '', decision: 'boot menu', reason: 'known', default: 'linux', timeoutSeconds: 12,
    profiles: [{ name: 'winpe', description: 'Windows PE', url: 'http://10.77.0.2:8080/ipxe/52-54-00-77-00-01/winpe.ipxe' }],
  });
  assert.match(s, /\nitem --gap -- Computer {2}PC-01\n/);
  assert.match(s, /\nitem --gap -- GUID {6}\(none sent\)\n/);
  assert.match(s, /\nitem --gap -- Decision {2}boot menu \(known\)\n/);
  assert.match(s, /\nchoose --default linux --timeout 12000 target/);
  assert.match(s, /\nitem profile-winpe winpe: Windows PE\n/);
  assert.match(s, /\n:profile-winpe\nchain --replace --autofree http:\/\/10\.77\.0\.2:8080\/ipxe\/52-54-00-77-00-01\/winpe\.ipxe \|\| goto failed\n/);
});

test('without vmlinuz + initrd.img there is no Linux entry, and a Linux default falls back to the local disk', () => {
  const s = menuScript({ ...M, linux: false, default: 'linux' });
  assert.doesNotMatch(s, /item linux|:linux|vmlinuz/);
  assert.match(s, /choose --default local /);
});

test('nothing pasted in can inject iPXE syntax; an unsafe URL is refused', () => {
  const s = menuScript({ ...M, computer: 'PC${x}\nchain http://evil/', guid: '#{{a}}"' });
  assert.doesNotMatch(s, /\$\{x\}|\{\{/);
  assert.match(s, /\nitem --gap -- Computer {2}PC\?\?x\?\?chain http:\/\/evil\/\n/, "the newline is gone: still one text line");
  assert.equal(s.split('\n').filter((l) => l.startsWith('chain')).length, 0);
  assert.equal(menuText('a$b{c}d\ne'), 'a?b?c?d?e');
  assert.throws(() => menuScript({ ...M, base: 'http://x/ ; shell' }), /unsafe URL/);
});

test('menu entry paths: ipxe/<mac>/<profile>.ipxe round trip; other paths are not entries', () => {
  const p = ipxeChoicePath('52:54:00:77:00:01', 'winpe');
  assert.equal(p, 'ipxe/52-54-00-77-00-01/winpe.ipxe');
  assert.deepEqual(choiceFromScriptPath(`/${p}`), { mac: '52:54:00:77:00:01', profile: 'winpe' });
  assert.equal(choiceFromScriptPath('ipxe/52-54-00-77-00-01.ipxe'), null);
  assert.equal(choiceFromScriptPath('ipxe/52-54-00-77-00-01/../x.ipxe'), null);
});

function ipxeClient(): ClientInfo {
  return { mac: '52:54:00:77:00:09', archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: true, guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00007', ip: '10.77.0.50', door: 'ipxe-script' };
}

test('a menu choice: boots the listed profile for a client offered the menu; nothing else', () => {
  const raw = {
    profiles: {
      linux: { bootFiles: { 'efi-x64': 'ipxe.efi' }, ipxeScript: '#!ipxe\nboot' },
      winpe: { bootFiles: { 'efi-x64': 'bootmgfw.efi' } },
      gated: { bootFiles: { 'efi-x64': 'ipxe.efi' }, ipxeScript: '#!ipxe\nboot', password: { mode: 'required', files: ['x/'] } },
    },
  };
  const snap = snapshotFromConfig(effectiveConfig(validateConfig(raw, 'test')));
  const c = ipxeClient();
  assert.deepEqual(decide(c, snap), { kind: 'boot', profile: 'menu', computer: null, reason: 'unknown-boot', target: { transport: 'http', path: 'ipxe/52-54-00-77-00-09.ipxe' } });
  const picked = decide(c, snap, 'linux');
  assert.equal(picked.kind, 'boot');
  assert.equal(picked.reason, 'menu-choice');
  assert.equal('profile' in picked && picked.profile, 'linux');
  // winpe has no iPXE script: the menu does not list it, so it cannot be picked.
  assert.deepEqual(decide(c, snap, 'winpe'), { kind: 'ignore', reason: 'unknown-profile' });
  // A gated profile keeps its gate.
  assert.equal(decide(c, snap, 'gated').kind, 'password');
  // A client whose policy is not the menu cannot pick anything: it gets what it would get anyway.
  const direct = snapshotFromConfig(effectiveConfig(validateConfig({ ...raw, policy: { unknown: { action: 'boot', profile: 'winpe' } } }, 'test')));
  assert.deepEqual(decide(c, direct, 'linux'), decide(c, direct));
});
