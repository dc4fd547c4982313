/**
 * The GRUB password form (Debian's signed GRUB has no `read`: hotkeys in a hidden menu, one TFTP path per
 * key), the paths it asks for (hostile ones included), and the content door checking a typed password
 * with the password gate: wrong, locked out, right (then GRUB boots the kernel and the TFTP gate lets the
 * kernel through), with neither the password nor its hex form in a log line, an audit event or a metric.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GRUB_PASSWORD_MAX, grubConfig, grubPasswordStep, loaderConfigPath, redactLoaderPath, type LoaderInput,
} from '../../daemon/boot/loader-config.js';
import { validateConfig } from '../../daemon/config/load.js';
import { effectiveConfig } from '../../daemon/config/defaults.js';
import { decide, snapshotFromConfig } from '../../daemon/policy/decide.js';
import type { ClientInfo, Decision } from '../../daemon/policy/types.js';
import { passwordBoot } from './helpers/password-boot.js';

const MAC = '52:54:00:77:00:07';
const IP = '10.77.0.107';
const SERVER = '10.77.0.2';
const PW = 'Open-Sesame 42!';
const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');

const GATED: Decision = { kind: 'password', profile: 'lab', target: { transport: 'tftp', path: 'shimx64.efi' }, computer: 'LAB-PC-007', reason: 'password-required' };

function input(over: Partial<LoaderInput> = {}): LoaderInput {
  return {
    mac: MAC, computer: 'LAB-PC-007', decision: GATED, server: SERVER, linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0' },
    menu: null, retrySeconds: 30, selfPath: 'grub/grub.cfg', version: '0.1.0', ...over,
  };
}

describe('the GRUB password form', () => {
  test('a hidden menu: a hotkey per printable character, Backspace, Tab; a star per typed character; no kernel', () => {
    const text = grubConfig(input({ password: { attempt: 'ab', note: null } }));
    assert.match(text, /^set timeout_style=hidden$/m);
    assert.match(text, /^set default=local$/m);
    assert.match(text, /^echo 'Password: \*\*'$/m);
    assert.match(text, new RegExp(`--hotkey=tab --id submit \\{\\n {2}configfile \\(tftp,10\\.77\\.0\\.2\\)/grub/password/${hex('ab')}/try$`, 'm'));
    assert.match(text, new RegExp(`--hotkey=backspace \\{\\n {2}configfile \\(tftp,10\\.77\\.0\\.2\\)/grub/password/${hex('a')}/key$`, 'm'));
    assert.match(text, new RegExp(`--hotkey='c' \\{\\n {2}configfile \\(tftp,10\\.77\\.0\\.2\\)/grub/password/${hex('abc')}/key$`, 'm'));
    // Every printable ASCII character has its key; the single quote is quoted the only way GRUB allows.
    assert.equal((text.match(/--hotkey=(?!tab|backspace)/g) ?? []).length, 95);
    assert.match(text, new RegExp(`--hotkey="'" \\{\\n {2}configfile \\S+/${hex("ab'")}/key$`, 'm'));
    assert.match(text, new RegExp(`--hotkey=' ' \\{\\n {2}configfile \\S+/${hex('ab ')}/key$`, 'm'));
    assert.doesNotMatch(text, /^ {2}linux /m, 'nothing boots before the password is checked');
    assert.match(text, /^ {2}exit$/m, 'the wait ends at the next boot device');
  });

  test('the note after a try is shown; the empty attempt; the longest attempt takes no more characters', () => {
    const wrong = grubConfig(input({ password: { attempt: '', note: 'wrong password; 4 tries left' } }));
    assert.match(wrong, /^echo 'Bootgate: wrong password; 4 tries left'$/m);
    assert.match(wrong, /^echo 'Password: '$/m);
    assert.match(wrong, /--id submit \{\n {2}configfile \S+\/grub\/password\/\/try$/m);
    const full = 'x'.repeat(GRUB_PASSWORD_MAX);
    const text = grubConfig(input({ password: { attempt: full, note: null } }));
    assert.match(text, new RegExp(`--hotkey='y' \\{\\n {2}configfile \\S+/${hex(full)}/key$`, 'm'));
  });
});

describe('the paths the form asks for', () => {
  const rows: Array<[string, ReturnType<typeof grubPasswordStep>]> = [
    [`grub/password/${hex('abc')}/key`, { step: 'key', attempt: 'abc' }],
    [`grub/password/${hex(PW)}/try`, { step: 'try', attempt: PW }],
    [`boot/grub/password/${hex('a/b ..')}/TRY`, { step: 'try', attempt: 'a/b ..' }],
    ['grub/password//try', { step: 'try', attempt: '' }],
    ['grub/password/../../etc/passwd', { step: 'malformed' }],
    ['grub/password/open sesame/try', { step: 'malformed' }],
    ['grub/password/616/try', { step: 'malformed' }],
    ['grub/password/zz/try', { step: 'malformed' }],
    ['grub/password/6162/boot', { step: 'malformed' }],
    ['grub/password/6162/try/extra', { step: 'malformed' }],
    [`grub/password/${hex('x'.repeat(GRUB_PASSWORD_MAX + 1))}/try`, { step: 'malformed' }],
    [`grub/password/${hex('a\nb')}/try`, { step: 'malformed' }],
    [`grub/password/${hex('a\u00e9')}/try`, { step: 'malformed' }],
    ['grub/password', { step: 'malformed' }],
  ];
  for (const [path, want] of rows) {
    test(JSON.stringify(path.slice(0, 60)), () => {
      assert.deepEqual(grubPasswordStep(path.replace(/^boot\//, '')), want);
      assert.equal(loaderConfigPath(`/${path}`)?.loader, 'grub');
      assert.equal(redactLoaderPath(`/${path}`), 'grub/password/…', 'logged without the attempt');
    });
  }
  test('other paths are not redacted', () => {
    assert.equal(redactLoaderPath('/grub/grub.cfg'), '/grub/grub.cfg');
    assert.equal(redactLoaderPath('grubx64.efi'), 'grubx64.efi');
  });
});

describe('a password-gated profile under Secure Boot', () => {
  test('shim and GRUB are offered (GRUB prompts); a program that cannot prompt still gets nothing', () => {
    const cfg = validateConfig({
      profiles: {
        lab: { bootFiles: { 'efi-x64': 'ipxe.efi' }, secureBootFiles: { 'efi-x64': 'shimx64.efi' }, ipxeScript: 'boot', password: { mode: 'required' } },
        other: { bootFiles: { 'efi-x64': 'bootmgfw.efi' }, password: { mode: 'required' } },
      },
      policy: { unknown: { action: 'boot', profile: 'lab' } },
    }, 'test');
    const snap = { ...snapshotFromConfig(cfg), secureBoot: { has: () => true } };
    const c: ClientInfo = { mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00007', ip: null, door: 'dhcp' };
    const d = decide(c, snap);
    assert.equal(d.kind, 'password');
    assert.equal(d.kind === 'password' ? d.target.path : '', 'shimx64.efi');
    const other = decide(c, { ...snap, profiles: cfg.profiles, policy: { ...cfg.policy, unknown: { ...cfg.policy.unknown, action: 'boot', profile: 'other' } } });
    assert.equal(other.kind, 'ignore');
  });
});

describe('the content door checks the typed password', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'bg-grub-pw-'));
    for (const f of ['vmlinuz', 'initrd.img', 'shimx64.efi', 'grubx64.efi', 'ipxe.efi']) writeFileSync(join(root, f), 'x');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('wrong: the form again with tries left; locked out after maxFailures; right: the kernel, then the gated kernel file is served', async () => {
    const cfg = effectiveConfig(validateConfig({
      root,
      password: { maxFailures: 3, lockoutMinutes: 5 },
      profiles: {
        lab: {
          bootFiles: { 'efi-x64': 'ipxe.efi' }, secureBootFiles: { 'efi-x64': 'shimx64.efi' }, ipxeScript: 'boot',
          linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0' }, password: { mode: 'required', files: ['vmlinuz', 'initrd.img'] },
        },
      },
      policy: { unknown: { action: 'boot', profile: 'lab' } },
    }, 'test'));
    const { store, logs, registry, clients, passwords, content } = await passwordBoot(cfg, root, PW, { secureBoot: { has: () => true } });
    clients.seen({ mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00007', ip: IP, door: 'pxe' }, SERVER);
    const ask = async (path: string) => {
      const a = await content.forTftp(path, IP, SERVER);
      assert.equal(a.kind, 'content', JSON.stringify(a));
      return a.kind === 'content' ? a.data.toString() : '';
    };
    try {
      const form = await ask('/grub/grub.cfg');
      assert.match(form, /password gated\. Type the boot password, then press Tab/);
      assert.match(form, /^echo 'Password: '$/m);
      assert.equal((await content.forTftp('vmlinuz', IP, SERVER)).kind, 'refuse', 'the kernel needs the password');

      assert.match(await ask(`/grub/password/${hex('Ope')}/key`), /^echo 'Password: \*\*\*'$/m);
      assert.match(await ask('/grub/password/../../x/try'), /that input was not understood/);
      const wrong = await ask(`/grub/password/${hex('wrong one')}/try`);
      assert.match(wrong, /wrong password; 2 tries left/);
      assert.doesNotMatch(wrong, /^ {2}linux /m);

      const right = await ask(`/grub/password/${hex(PW)}/try`);
      assert.match(right, /^ {2}linux \(tftp,10\.77\.0\.2\)\/vmlinuz console=ttyS0$/m, right);
      assert.match(right, /boot lab \(unlocked\)/);
      assert.deepEqual(await content.forTftp('vmlinuz', IP, SERVER), { kind: 'file', path: 'vmlinuz' });
      // Another address is not unlocked by it.
      assert.equal((await content.forTftp('vmlinuz', '10.77.0.199', SERVER)).kind, 'refuse');

      const events = store.audit.query({ mac: MAC, type: 'password', limit: 20 });
      assert.ok(events.some((e) => e.reason === 'wrong-password' && e.door === 'tftp'), JSON.stringify(events));
      assert.ok(events.some((e) => e.reason === 'password-ok' && e.door === 'tftp'));
      const text = await registry.metrics();
      assert.match(text, /^bootgate_password_attempts_total\{result="wrong"\} 1$/m);
      assert.match(text, /^bootgate_password_attempts_total\{result="ok"\} 1$/m);

      // A new boot (DHCP on port 67) ends the unlock; three wrong passwords lock the MAC out.
      passwords.observe({ mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: '', ip: null, door: 'dhcp' }, GATED);
      for (let k = 0; k < 3; k++) await ask(`/grub/password/${hex(`bad${k}`)}/try`);
      const locked = await ask(`/grub/password/${hex(PW)}/try`);
      assert.match(locked, /locked out after too many wrong passwords; try again in 5 min/);
      assert.doesNotMatch(locked, /^ {2}linux /m, 'the right password during a lockout does not unlock');

      const everything = [logs.join(''), JSON.stringify(store.audit.query({ limit: 1000 })), await registry.metrics()].join('\n');
      assert.ok(!everything.includes(PW), 'the password is not in logs, audit or metrics');
      assert.ok(!everything.includes(hex(PW)), 'nor its hex form');
      assert.ok(!everything.includes(hex('wrong one')), 'nor a wrong attempt');
    } finally {
      store.close();
    }
  });
});
