/**
 * decide() with password gating: every door of a gated profile, unlocked or not, and the other policy
 * paths (pending devices, boot-once, ungated profiles) untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../daemon/config/load.js';
import { decide, snapshotFromConfig, type PolicySnapshot } from '../../daemon/policy/decide.js';
import { buildInventoryIndex, type InventoryEntry } from '../../daemon/policy/inventory.js';
import type { ClientInfo, Decision, Door } from '../../daemon/policy/types.js';
import { passwordConfigProblems } from '../../daemon/features/password/config.js';
import { UnlockRegistry } from '../../daemon/features/password/unlocks.js';

const MAC = '52:54:00:77:00:01';
const IP = '10.77.0.101';

const baseConfig = {
  policy: { unknown: { action: 'boot', profile: 'lab' } },
  profiles: {
    lab: {
      bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
      ipxeScript: 'kernel {{http}}/vmlinuz\nboot',
      password: { mode: 'required', files: ['vmlinuz', 'initrd.img'] },
    },
    open: { bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' }, ipxeScript: 'kernel {{http}}/open/vmlinuz\nboot' },
    winpe: { bootFiles: { 'efi-x64': 'boot/x64/bootmgfw.efi' }, password: { mode: 'required', files: ['sources/'] } },
    wipe: { kind: 'required', bootFiles: { bios: 'undionly.kpxe' }, ipxeScript: 'chain wipe', password: { mode: 'inherit', files: ['wipe/'] } },
  },
};

function client(over: Partial<ClientInfo> = {}): ClientInfo {
  return {
    mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
    vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: null, door: 'dhcp', ...over,
  };
}

function snapshot(opts: { config?: Record<string, unknown>; computers?: InventoryEntry[]; unlocks?: UnlockRegistry; pending?: string[] } = {}): PolicySnapshot {
  const raw = { ...structuredClone(baseConfig), ...opts.config } as Record<string, unknown>;
  const snap = snapshotFromConfig(validateConfig(raw, 'test'));
  const base: PolicySnapshot = { ...snap, inventory: buildInventoryIndex(opts.computers ?? []), pending: new Set(opts.pending ?? []) };
  return opts.unlocks ? { ...base, password: { required: base.password?.required ?? false, unlocks: opts.unlocks } } : base;
}

const compact = (d: Decision) => ({ kind: d.kind, reason: d.reason, target: 'target' in d ? d.target.path : undefined });

test('a gated profile answers every door with `password` until unlocked, with a target that can prompt', () => {
  const snap = snapshot();
  const rows: Array<[string, Partial<ClientInfo>, ReturnType<typeof compact>]> = [
    ['native UEFI on 67 gets iPXE', { door: 'dhcp' }, { kind: 'password', reason: 'password-required', target: 'ipxe.efi' }],
    ['native UEFI on 4011 gets iPXE', { door: 'pxe', ip: IP }, { kind: 'password', reason: 'password-required', target: 'ipxe.efi' }],
    ['BIOS iPXE ROM on 67 gets its script', { door: 'dhcp', ipxe: true, arch: 'bios', archCode: 0 }, { kind: 'password', reason: 'password-required', target: 'ipxe/52-54-00-77-00-01.ipxe' }],
    ['the script door prompts', { door: 'ipxe-script', ipxe: true, ip: IP }, { kind: 'password', reason: 'password-required', target: 'ipxe/52-54-00-77-00-01.ipxe' }],
    ['a TFTP file request', { door: 'tftp', ipxe: true, ip: IP }, { kind: 'password', reason: 'password-required', target: 'ipxe/52-54-00-77-00-01.ipxe' }],
    ['an HTTP file request', { door: 'http', ipxe: true, ip: IP }, { kind: 'password', reason: 'password-required', target: 'ipxe/52-54-00-77-00-01.ipxe' }],
  ];
  for (const [name, over, want] of rows) assert.deepEqual(compact(decide(client(over), snap)), want, name);
});

test('unlocked (same MAC, profile and IP): the script and file doors boot, with reason `unlocked`', () => {
  let t = 1000;
  const unlocks = new UnlockRegistry(() => t);
  unlocks.grant({ mac: MAC, ip: IP, profile: 'lab' }, 600_000);
  const snap = snapshot({ unlocks });
  for (const door of ['ipxe-script', 'tftp', 'http'] as Door[]) {
    const d = decide(client({ door, ipxe: true, ip: IP }), snap);
    assert.deepEqual(compact(d), { kind: 'boot', reason: 'unlocked', target: 'ipxe/52-54-00-77-00-01.ipxe' }, door);
  }
  // Another address presenting the same MAC, another profile's unlock, or after expiry: still gated.
  assert.equal(decide(client({ door: 'http', ipxe: true, ip: '10.77.0.199' }), snap).kind, 'password');
  t += 600_000;
  assert.equal(decide(client({ door: 'http', ipxe: true, ip: IP }), snap).kind, 'password');
});

test('an unlock is for one profile', () => {
  const unlocks = new UnlockRegistry(() => 0);
  unlocks.grant({ mac: MAC, ip: IP, profile: 'wipe' }, 600_000);
  assert.equal(decide(client({ door: 'http', ipxe: true, ip: IP }), snapshot({ unlocks })).kind, 'password');
});

test('a native client whose boot program is not iPXE cannot be prompted: no answer, reason password-required', () => {
  const snap = snapshot({ config: { policy: { unknown: { action: 'boot', profile: 'winpe' } } } });
  assert.deepEqual(compact(decide(client(), snap)), { kind: 'ignore', reason: 'password-required', target: undefined });
});

test('ungated profiles, mode none and the global switch', () => {
  const open = snapshot({ config: { policy: { unknown: { action: 'boot', profile: 'open' } } } });
  assert.deepEqual(compact(decide(client(), open)), { kind: 'boot', reason: 'unknown-boot', target: 'ipxe.efi' });
  const computers: InventoryEntry[] = [{ name: 'PC-01', macs: [MAC], guid: null, profile: 'wipe', kind: 'required', bootOnceConsumed: false }];
  // wipe inherits: not gated while password.required is off...
  assert.equal(decide(client({ arch: 'bios', archCode: 0 }), snapshot({ computers })).kind, 'boot');
  // ...gated when it is on; `open` stays open only with mode none.
  const on = { password: { required: true } };
  assert.equal(decide(client({ arch: 'bios', archCode: 0 }), snapshot({ computers, config: on })).kind, 'password');
  const none = { ...on, profiles: { ...baseConfig.profiles, open: { ...baseConfig.profiles.open, password: { mode: 'none' } } }, policy: { unknown: { action: 'boot', profile: 'open' } } };
  assert.equal(decide(client(), snapshot({ config: none })).kind, 'boot');
});

test('other policy paths win: a pending device is never prompted, a consumed boot-once boots its disk', () => {
  const pendingCfg = { policy: { unknown: { action: 'pending', profile: 'lab' } } };
  const pend = decide(client({ door: 'ipxe-script', ipxe: true, ip: IP }), snapshot({ config: pendingCfg }));
  assert.equal(pend.kind, 'pending');
  const computers: InventoryEntry[] = [{ name: 'PC-01', macs: [MAC], guid: null, profile: 'wipe', kind: 'required', bootOnceConsumed: true }];
  const consumed = decide(client({ door: 'ipxe-script', ipxe: true, ip: IP, arch: 'bios' }), snapshot({ computers, config: { password: { required: true } } }));
  assert.deepEqual(compact(consumed), { kind: 'local', reason: 'boot-once-consumed', target: undefined });
  // Not yet consumed: a required deployment on a gated profile asks for the password.
  const fresh = [{ ...computers[0] as InventoryEntry, bootOnceConsumed: false }];
  const d = decide(client({ door: 'ipxe-script', ipxe: true, ip: IP, arch: 'bios' }), snapshot({ computers: fresh, config: { password: { required: true } } }));
  assert.equal(d.kind, 'password');
  assert.equal('computer' in d && d.computer, 'PC-01');
});

test('a snapshot without password facts (built before gating existed) gates nothing', () => {
  const snap = snapshot();
  const { password: _drop, ...bare } = snap;
  assert.equal(decide(client(), bare as PolicySnapshot).kind, 'boot');
});

test('config problems: a gated profile must name its files, and HTTP must be on', () => {
  const cfg = validateConfig({ ...structuredClone(baseConfig), http: { enabled: false }, profiles: { ...baseConfig.profiles, lab: { ...baseConfig.profiles.lab, password: { mode: 'required' } } } }, 't');
  const { errors, warnings } = passwordConfigProblems(cfg);
  assert.ok(errors.some((e) => /needs http\.enabled/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /profiles\.lab\.password\.files/.test(e)), errors.join('\n'));
  assert.ok(warnings.some((w) => /profiles\.winpe\.bootFiles\.efi-x64: boot\/x64\/bootmgfw\.efi is not iPXE/.test(w)), warnings.join('\n'));
  assert.deepEqual(passwordConfigProblems(validateConfig(structuredClone(baseConfig), 't')).errors, []);
});

test('the config schema refuses file prefixes that could escape or break a token', () => {
  for (const bad of ['../x', 'a/../b', '/abs', 'a,b', 'a|b']) {
    assert.throws(() => validateConfig({ profiles: { p: { password: { mode: 'required', files: [bad] } } } }, 't'), /password\.files/, bad);
  }
  assert.throws(() => validateConfig({ profiles: { p: { password: { mode: 'sometimes' } } } }, 't'), /password\.mode/);
  assert.throws(() => validateConfig({ password: { maxFailures: 0 } }, 't'), /password\.maxFailures/);
});
