/**
 * PXELINUX's password prompt: the configuration rendered for a `password` decision (a `boot:` prompt whose
 * failed load reloads it), which TFTP requests from a machine at the prompt are what it typed (hostile
 * names, probes, real files), and the content door checking the typed word with the password gate: wrong
 * (the prompt again, saying so), locked out, right (the profile's kernel, and the gated kernel file
 * served), answered "not found" every time, with the word in no log line, audit event or metric.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PXELINUX_LOCAL_LABEL, PXELINUX_PASSWORD_WAIT_SECONDS, pxelinuxConfig, type LoaderInput } from '../../daemon/boot/loader-config.js';
import {
  PXELINUX_PASSWORD_MAX, PXELINUX_PROMPT_TTL_MS, PxelinuxPrompts, promptRequest, pxelinuxDir,
} from '../../daemon/boot/pxelinux-prompt.js';
import { PXELINUX_INPUT_SHOWN } from '../../daemon/boot/content.js';
import { validateConfig } from '../../daemon/config/load.js';
import { effectiveConfig } from '../../daemon/config/defaults.js';
import { decide, snapshotFromConfig } from '../../daemon/policy/decide.js';
import { canPrompt } from '../../daemon/policy/password.js';
import type { ClientInfo, Decision } from '../../daemon/policy/types.js';
import { passwordBoot } from './helpers/password-boot.js';

const MAC = '52:54:00:77:00:17';
const IP = '10.77.0.117';
const SERVER = '10.77.0.2';
const PW = 'Open-Sesame-42!';
const CFG = 'pxelinux.cfg/01-52-54-00-77-00-17';

const GATED: Decision = { kind: 'password', profile: 'lab', target: { transport: 'tftp', path: 'pxelinux.0' }, computer: 'LAB-PC-017', reason: 'password-required' };

function input(over: Partial<LoaderInput> = {}): LoaderInput {
  return {
    mac: MAC, computer: 'LAB-PC-017', decision: GATED, server: SERVER, linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0' },
    menu: null, retrySeconds: 30, selfPath: CFG, version: '0.1.0', ...over,
  };
}

describe('the PXELINUX password prompt', () => {
  test('a boot: prompt with no label but the local disk; a failed load reloads this configuration from the TFTP root', () => {
    const text = pxelinuxConfig(input());
    assert.match(text, /^SAY Bootgate: profile lab is password gated\.$/m);
    assert.match(text, /^SAY This computer needs the deployment password: type it and press Enter$/m);
    assert.match(text, /^PROMPT 1$/m);
    // A bare DEFAULT: PXELINUX appends DEFAULT's text to ONERROR's command (without it: "(null)").
    assert.match(text, /^DEFAULT$/m);
    assert.match(text, new RegExp(`^ONERROR \\.config ::${CFG.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(text, new RegExp(`^TIMEOUT ${PXELINUX_PASSWORD_WAIT_SECONDS * 10}$`, 'm'));
    assert.match(text, new RegExp(`^ONTIMEOUT ${PXELINUX_LOCAL_LABEL}$`, 'm'));
    assert.deepEqual(text.match(/^LABEL .*$/gm), [`LABEL ${PXELINUX_LOCAL_LABEL}`], 'one label, so a typed word is loaded by name');
    assert.match(text, /^ {2}LOCALBOOT 0$/m);
    assert.doesNotMatch(text, /KERNEL|INITRD|APPEND|MENU|PASSWD/, 'nothing boots and no hash is served before the check');
  });

  test('the note after a try; a configuration asked for from a directory reloads that one', () => {
    const wrong = pxelinuxConfig(input({ password: { attempt: '', note: 'wrong password; 4 tries left' } }));
    assert.match(wrong, /^SAY Bootgate: wrong password; 4 tries left$/m);
    assert.match(pxelinuxConfig(input({ selfPath: 'bios/pxelinux.cfg/default' })), /^ONERROR \.config ::bios\/pxelinux\.cfg\/default$/m);
    assert.throws(() => pxelinuxConfig(input({ selfPath: '../pxelinux.cfg/x' })), /unsafe path/);
  });

  test('PXELINUX can prompt: a BIOS client sent pxelinux.0 gets `password`, not nothing', () => {
    assert.ok(canPrompt('pxelinux.0') && canPrompt('bios/lpxelinux.0') && !canPrompt('pxelinux.cfg/default'));
    const cfg = validateConfig({
      profiles: { lab: { bootFiles: { bios: 'pxelinux.0' }, linux: { kernel: 'vmlinuz' }, password: { mode: 'required' } } },
      policy: { unknown: { action: 'boot', profile: 'lab' } },
    }, 'test');
    const c: ClientInfo = { mac: MAC, archCode: 0, arch: 'bios', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', ip: null, door: 'dhcp' };
    const d = decide(c, snapshotFromConfig(cfg));
    assert.equal(d.kind, 'password');
    assert.equal(d.kind === 'password' ? d.target.path : '', 'pxelinux.0');
  });
});

describe('what a machine at the prompt asks for', () => {
  const rows: Array<[string, string, ReturnType<typeof promptRequest>]> = [
    ['hunter2', '', { kind: 'input', attempt: 'hunter2' }],
    ['/hunter2', '', { kind: 'input', attempt: 'hunter2' }],
    [PW, '', { kind: 'input', attempt: PW }],
    ['bios/hunter2', 'bios/', { kind: 'input', attempt: 'hunter2' }],
    // The probes PXELINUX makes before the word itself: typed, never the attempt.
    ...['.c32', '.img', '.bss', '.bin', '.bs', '.0', '.C32'].map((e): [string, string, ReturnType<typeof promptRequest>] => [`hunter2${e}`, '', { kind: 'input', attempt: null }]),
    ['../x', '', { kind: 'input', attempt: null }],
    ['a/b', '', { kind: 'input', attempt: null }],
    ['a\\b', '', { kind: 'input', attempt: null }],
    ['', '', { kind: 'input', attempt: null }],
    ['x'.repeat(PXELINUX_PASSWORD_MAX), '', { kind: 'input', attempt: 'x'.repeat(PXELINUX_PASSWORD_MAX) }],
    ['x'.repeat(PXELINUX_PASSWORD_MAX + 1), '', { kind: 'input', attempt: null }],
    ['x'.repeat(600), '', { kind: 'input', attempt: null }],
    ['pa\u00dfwort', '', { kind: 'input', attempt: null }],
    ['\u5bc6\u7801', '', { kind: 'input', attempt: null }],
    ['a\tb', '', { kind: 'input', attempt: null }],
    ['a\u0000b', '', { kind: 'input', attempt: null }],
    // Not in the prompt's directory, or PXELINUX's own configuration names: not typed.
    ['hunter2', 'bios/', { kind: 'other' }],
    ['pxelinux.cfg/00112233-4455-6677-8899-aabbccddeeff', '', { kind: 'other' }],
    ['bios/pxelinux.cfg/C0A80001', 'bios/', { kind: 'other' }],
  ];
  for (const [path, dir, want] of rows) {
    test(`${JSON.stringify(path.slice(0, 40))} in ${JSON.stringify(dir)}`, () => assert.deepEqual(promptRequest(path, dir), want));
  }

  test('the directory of a configuration path', () => {
    assert.equal(pxelinuxDir(CFG), '');
    assert.equal(pxelinuxDir('/Bios/pxelinux.cfg/default'), 'bios/');
  });

  test('a prompt is forgotten after its time, for another MAC at the address, and when it ends', () => {
    const clock = { t: 1_000_000 };
    const prompts = new PxelinuxPrompts(() => clock.t);
    prompts.sent(IP, MAC, CFG);
    assert.equal(prompts.at(IP, MAC)?.dir, '');
    prompts.tried(IP, { note: 'wrong password; 2 tries left', local: false });
    prompts.sent(IP, MAC, CFG);
    assert.deepEqual(prompts.take(IP, MAC), { note: 'wrong password; 2 tries left', local: false }, 'a note survives the reload it is for');
    assert.deepEqual(prompts.take(IP, MAC), { note: null, local: false }, 'and is shown once');
    assert.equal(prompts.at(IP, '52:54:00:00:00:01'), undefined, 'another machine at the address');
    prompts.sent(IP, MAC, CFG);
    clock.t += PXELINUX_PROMPT_TTL_MS + 1;
    assert.equal(prompts.at(IP, MAC), undefined);
    prompts.sent(IP, MAC, CFG);
    prompts.ended(IP);
    assert.equal(prompts.at(IP, MAC), undefined);
  });
});

describe('the TFTP door checks the word typed at the prompt', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'bg-pxe-pw-'));
    for (const f of ['pxelinux.0', 'ldlinux.c32', 'vmlinuz', 'initrd.img']) writeFileSync(join(root, f), 'x');
    mkdirSync(join(root, 'gated'));
    for (const f of ['vmlinuz', 'initrd.img']) writeFileSync(join(root, 'gated', f), 'x');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('wrong: the prompt again, saying so; locked out; right: the kernel, and the gated kernel is served; "not found" every time', async () => {
    const cfg = effectiveConfig(validateConfig({
      root,
      password: { maxFailures: 3, lockoutMinutes: 5 },
      profiles: {
        lab: {
          bootFiles: { bios: 'pxelinux.0' },
          linux: { kernel: 'gated/vmlinuz', initrd: 'gated/initrd.img', cmdline: 'console=ttyS0' }, password: { mode: 'required', files: ['gated/'] },
        },
      },
      policy: { unknown: { action: 'boot', profile: 'lab' } },
    }, 'test'));
    const { store, logs, registry, passwords, content } = await passwordBoot(cfg, root, PW);
    const config = async () => {
      const a = await content.forTftp(CFG, IP, SERVER);
      assert.equal(a.kind, 'content', JSON.stringify(a));
      return a.kind === 'content' ? a.data.toString() : '';
    };
    const typed = async (word: string) => {
      assert.equal(content.redactTftp(word, IP), PXELINUX_INPUT_SHOWN, `${JSON.stringify(word.slice(0, 40))} is not logged`);
      const a = await content.forTftp(word, IP, SERVER);
      assert.equal(a.kind === 'refuse' && a.reason, 'not-found', `${JSON.stringify(word.slice(0, 40))}: ${JSON.stringify(a)}`);
    };
    const attempts = async () => (await registry.metrics()).match(/^bootgate_password_attempts_total\{result="\w+"\} \d+$/gm) ?? [];
    try {
      // By HTTP what is typed would not come back to the check: no prompt, the local disk, saying why.
      const byHttp = await content.answer({ path: CFG, clientIp: IP, door: 'http', serverIp: SERVER });
      assert.ok(byHttp.kind === 'content', JSON.stringify(byHttp));
      assert.match(byHttp.data.toString(), /^SAY Bootgate: profile lab is password gated: PXELINUX's password prompt works over TFTP only$/m);
      assert.match(byHttp.data.toString(), /^DEFAULT local$/m);
      // Before the prompt was sent, a word is an ordinary missing file (and logged as one).
      assert.equal(content.redactTftp('hunter2', IP), 'hunter2');
      const prompt = await config();
      assert.match(prompt, /^SAY This computer needs the deployment password/m);
      assert.equal((await content.forTftp('gated/vmlinuz', IP, SERVER)).kind, 'refuse', 'the kernel needs the password');

      // Real files are served as ever (PXELINUX reloads ldlinux.c32 with the configuration), typed or not.
      assert.deepEqual(await content.forTftp('ldlinux.c32', IP, SERVER), { kind: 'file', path: 'ldlinux.c32' });
      assert.equal(content.redactTftp('ldlinux.c32', IP), 'ldlinux.c32');
      assert.deepEqual(await content.forTftp('/VMLINUZ', IP, SERVER), { kind: 'file', path: 'VMLINUZ' });
      // Hostile and probing names: "not found", never checked.
      for (const word of ['../x', '../../etc/passwd', 'x'.repeat(600), 'pa\u00dfwort', 'a/b', `${PW}.c32`, `${PW}.0`, '']) await typed(word);
      assert.deepEqual(await attempts(), [], 'nothing checked yet');

      await typed('wrong-one');
      const wrong = await config();
      assert.match(wrong, /^SAY Bootgate: wrong password; 2 tries left$/m);
      assert.match(wrong, /^PROMPT 1$/m);
      assert.doesNotMatch(await config(), /wrong password/, 'the note is shown once');
      // An address the prompt was not sent to is not checked.
      assert.equal(content.redactTftp('wrong-two', '10.77.0.199'), 'wrong-two');
      await content.forTftp('wrong-two', '10.77.0.199', SERVER);
      assert.deepEqual(await attempts(), ['bootgate_password_attempts_total{result="wrong"} 1']);

      await typed(PW);
      const right = await config();
      assert.match(right, /^ {2}KERNEL gated\/vmlinuz$/m, right);
      assert.match(right, /boot lab \(unlocked\)/);
      assert.deepEqual(await content.forTftp('gated/vmlinuz', IP, SERVER), { kind: 'file', path: 'gated/vmlinuz' });
      assert.equal(content.prompts.at(IP, MAC), undefined, 'no prompt once the kernel is on its way');
      assert.equal(content.redactTftp('vmlinuz', IP), 'vmlinuz');

      const events = store.audit.query({ mac: MAC, type: 'password', limit: 20 });
      assert.ok(events.some((e) => e.reason === 'wrong-password' && e.door === 'tftp'), JSON.stringify(events));
      assert.ok(events.some((e) => e.reason === 'password-ok' && e.door === 'tftp'));

      // A new boot (DHCP on port 67) ends the unlock; three wrong words lock the MAC out.
      passwords.observe({ mac: MAC, archCode: 0, arch: 'bios', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: '', ip: null, door: 'dhcp' }, GATED);
      assert.match(await config(), /^PROMPT 1$/m);
      for (let k = 0; k < 3; k++) {
        await typed(`bad${k}`);
        const again = await config();
        if (k === 2) assert.match(again, /^SAY Bootgate: wrong password; too many wrong passwords, locked for 300 s$/m, again);
      }
      await typed(PW);
      const locked = await config();
      assert.match(locked, /^SAY Bootgate: locked out after too many wrong passwords; locked for 300 s$/m, locked);
      assert.doesNotMatch(locked, /KERNEL/, 'the right password during a lockout does not unlock');

      const everything = [logs.join(''), JSON.stringify(store.audit.query({ limit: 1000 })), await registry.metrics()].join('\n');
      for (const word of [PW, 'wrong-one', 'bad0', 'pa\u00dfwort', 'x'.repeat(600)]) {
        assert.ok(!everything.includes(word), `${JSON.stringify(word.slice(0, 20))} is not in logs, audit or metrics`);
      }
      assert.match(logs.join(''), /"file":"pxelinux\/password"/, 'the check is logged as the prompt');
    } finally {
      store.close();
    }
  });
});
