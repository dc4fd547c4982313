/**
 * Password-gated network boot under real firmware, in the namespace lab (test/lab):
 * QEMU clients under TCG, the site's DHCP server handing out addresses, Bootgate as the appliance with
 * the lab profile gated (`password.mode: required`, files vmlinuz and initrd.img).
 *
 * Keys are typed into iPXE's `login` form through QMP `send-key` (PS/2 keyboard: SeaBIOS INT 16h for the
 * BIOS NIC ROM's iPXE, OVMF's ConIn for ipxe.efi). What the evidence rests on:
 *   - a direct TFTP / HTTP fetch of a gated file without an unlock gets an error;
 *   - BIOS: a wrong password is refused and no gated file is served (audit events), the right one boots;
 *   - UEFI (native PXE chained into ipxe.efi): five wrong passwords lock the MAC and IP out, the right
 *     password is then refused too, until an admin lifts the lockout; then it boots;
 *   - the password appears in no log line, audit event or serial console.
 *
 * Missing prerequisites fail the tests with a message naming them; nothing is skipped.
 * BOOTGATE_LAB_KEEP=1 keeps the lab directory (serial consoles, daemon log, database).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureAssets, type LabAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import type { Firmware } from '../lab/qemu.js';
import { startTypingClient, type Vm } from '../lab/keyboard.js';
import { bootgateCli, buildBootRoot, labScript, LAB_HTTP_PORT, startBootgate, type Appliance } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { MARKER_RE } from '../lab/initramfs.js';

import { openStore } from '../../daemon/store/db.js';
import type { AuditEvent } from '../../daemon/store/audit.js';

const RIGHT = 'lab-boot-7391';
const WRONG = ['wrong-one-1', 'wrong-two-2', 'wrong-three-3', 'wrong-four-4', 'wrong-five-5'];

describe('password-gated network boot under real firmware', { timeout: 90 * 60_000 }, () => {
  let lab: Lab | undefined;
  let assets: LabAssets | undefined;
  let app: Appliance | undefined;
  let dbPath = '';
  let configPath = '';

  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bootgateCli(), 'password', ...args, '--config', configPath], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `bootgate password ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  const events = (mac?: string): AuditEvent[] => {
    const s = openStore(dbPath);
    try {
      return s.audit.query({ ...(mac ? { mac } : {}), limit: 5000 }).reverse();
    } finally {
      s.close();
    }
  };

  const summary = (evs: AuditEvent[]) => evs.map((e) => `${e.type}:${e.door ?? '-'}:${e.decision ?? '-'}:${e.reason ?? '-'}:${e.detail ?? ''}`);

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true });
    assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
    assets = await ensureAssets();
    lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1' });
    const script = labScript('{{http}}');
    const root = buildBootRoot(lab, assets, script, 'root-password');
    dbPath = join(lab.dir, 'bootgate.db');
    configPath = join(lab.dir, 'bootgate.yaml');
    app = await startBootgate(lab, {
      root,
      ipxeScript: script,
      scriptTransport: 'http',
      extraConfig: {
        password: { maxFailures: 5, lockoutMinutes: 15, unlockMinutes: 10 },
        profiles: {
          lab: {
            description: 'firmware lab behind a boot password',
            bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
            ipxeScript: script,
            password: { mode: 'required', files: ['vmlinuz', 'initrd.img'] },
          },
        },
      },
    });
    // Set while the daemon runs: it reads the hash from the database on every check.
    const set = spawnSync(process.execPath, [bootgateCli(), 'password', 'set', '--config', configPath], { input: `${RIGHT}\n`, encoding: 'utf8', timeout: 30_000 });
    assert.equal(set.status, 0, set.stderr);
  });

  after(async () => {
    await app?.stop();
    if (app && lab) {
      // Whatever happened, the password must not have reached the daemon's log.
      assert.ok(!app.log().includes(RIGHT), 'the daemon log contains the password');
    }
    await lab?.destroy();
  });

  async function vm(firmware: Firmware): Promise<Vm> {
    assert.ok(lab);
    return startTypingClient(lab, { firmware, name: `${firmware}-pw-${Math.random().toString(16).slice(2, 6)}` });
  }

  test('a direct fetch of a gated file without unlocking gets an error, by HTTP and by TFTP', async () => {
    assert.ok(lab && app);
    const url = `http://${lab.appAddress}:${LAB_HTTP_PORT}`;
    const http = await lab.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${url}/vmlinuz`], lab.siteNs);
    assert.equal(http.stdout, '403');
    const forged = await lab.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${url}/_signed/AAAAAAAAAAAA.${'A'.repeat(43)}/vmlinuz`], lab.siteNs);
    assert.equal(forged.stdout, '403');
    const open = await lab.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${url}/undionly.kpxe`], lab.siteNs);
    assert.equal(open.stdout, '200', 'the iPXE binaries are not gated');
    const tftp = await lab.run(['sh', '-c', `cd /tmp && tftp ${lab.appAddress} -m binary -c get initrd.img /dev/null 2>&1; true`], lab.siteNs);
    assert.match(tftp.stdout, /Access violation/);
    const refused = events().filter((e) => e.type === 'password' && e.ip === lab?.siteAddress).map((e) => `${e.door}:${e.reason}:${e.detail}`);
    assert.deepEqual(refused, ['http:file-no-unlock:vmlinuz', 'http:file-bad-signature:vmlinuz', 'tftp:file-no-unlock:initrd.img']);
  });

  test('BIOS (iPXE NIC ROM): a wrong password is refused and nothing gated is served; the right one boots the profile', async (t) => {
    const v = await vm('bios');
    try {
      await v.next(/is about to boot profile lab\./);
      await v.login(WRONG[0] as string);
      await v.next(/Wrong password\. 4 more tries before a 15-minute lockout\./);
      const mac = v.client.mac;
      const before = summary(events(mac));
      assert.ok(before.some((l) => l === 'password:http:refused:wrong-password:failure 1 of 5 for this MAC'), before.join('\n'));
      assert.ok(!before.some((l) => /vmlinuz|initrd/.test(l)), `a gated file was asked for or served before the unlock:\n${before.join('\n')}`);
      await v.press('ret'); // dismiss the banner
      await v.login(RIGHT);
      const m = await v.next(MARKER_RE);
      assert.equal(m[1], mac);
      assert.equal(m[2], v.client.uuid);
      const all = summary(events(mac));
      t.diagnostic(all.join('\n'));
      const unlocked = all.findIndex((l) => l.startsWith('password:http:unlocked:password-ok'));
      assert.ok(unlocked > 0, 'no unlock event');
      const files = all.map((l, i) => [l, i] as const).filter(([l]) => /^decision:http:boot:unlocked:(vmlinuz|initrd\.img)$/.test(l));
      assert.deepEqual(files.map(([l]) => l.split(':').pop()), ['vmlinuz', 'initrd.img'], 'kernel and initrd served through signed URLs after the unlock');
      assert.ok(files.every(([, i]) => i > unlocked));
      assert.ok(!v.client.serial().includes(RIGHT), 'the password was echoed on the console');
    } finally {
      v.kb.close();
      await v.client.stop();
    }
  });

  test('UEFI (OVMF PXE -> ipxe.efi): five wrong passwords lock out; the right one is refused until an admin lifts it; then it boots', async (t) => {
    const v = await vm('uefi');
    try {
      await v.next(/is about to boot profile lab\./);
      for (let i = 0; i < 5; i++) {
        await v.login(WRONG[i] as string);
        const left = 4 - i;
        await v.next(left > 0 ? new RegExp(`Wrong password\\. ${left} more tr(y|ies) before`) : /Wrong password\. Locked out for 15 minutes/);
        await v.press('ret');
      }
      await v.login(RIGHT);
      await v.next(/locked out for 15 more minutes/);
      const mac = v.client.mac;
      const st = JSON.parse(cli('status', '--json')) as { lockouts: Array<{ by: string; client: string; locked: boolean }> };
      const ip = st.lockouts.find((l) => l.by === 'ip')?.client;
      assert.ok(st.lockouts.some((l) => l.by === 'mac' && l.client === mac && l.locked), JSON.stringify(st.lockouts));
      assert.ok(ip, 'the IP is locked out too');
      assert.ok(!summary(events(mac)).some((l) => l.includes('unlocked')), 'unlocked during the lockout');
      cli('lift', mac);
      cli('lift', ip);
      await v.press('ret');
      await v.login(RIGHT);
      const m = await v.next(MARKER_RE);
      assert.equal(m[1], mac);
      const all = summary(events(mac));
      t.diagnostic(all.filter((l) => l.startsWith('password') || l.startsWith('admin')).join('\n'));
      assert.equal(all.filter((l) => l.includes(':wrong-password:')).length, 5);
      assert.ok(all.some((l) => l.includes(':locked-out:lockout:mac locked out for 15 minutes')));
      assert.ok(all.some((l) => l.includes(':refused:locked-out:mac locked')), 'the right password during the lockout was refused');
      const lifted = summary(events()).filter((l) => l.startsWith('admin') && l.includes('lockout lifted'));
      assert.equal(lifted.length, 2);
      const metrics = await lab?.run(['curl', '-s', `http://${lab.appAddress}:${LAB_HTTP_PORT}/metrics`], lab.siteNs);
      assert.match(metrics?.stdout ?? '', /bootgate_password_lockouts_total\{by="mac"\} 1/);
      assert.match(metrics?.stdout ?? '', /bootgate_password_attempts_total\{result="locked"\} 1/);
    } finally {
      v.kb.close();
      await v.client.stop();
    }
  });
});
