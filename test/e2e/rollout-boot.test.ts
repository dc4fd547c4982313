/**
 * Ramped rollout with real firmware in the namespace lab: two BIOS machines in one
 * group, a quota of one a day. On day 0 the first (less critical) boots the rollout's profile and the
 * second falls through to its local disk; on the next simulated day the second is admitted and boots
 * the profile too.
 *
 * The daemon's clock is simulated with libfaketime (Debian package faketime) preloaded into
 * `bootgate serve`: day 0 is 2025-03-03 10:00 UTC, the next day 2025-03-04 10:00 UTC; the monotonic
 * clock is left real so timers and TFTP retransmissions behave. The daemon is restarted between the
 * days on the same database, so the admission recorded on day 0 must also survive a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureAssets, type LabAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import { randomMac } from '../lab/qemu.js';
import { VM_TIMEOUT_MS, localDisk, powerOn } from '../lab/local-disk.js';
import { HANG_MS, waitForText, type Tracked } from '../lab/procs.js';
import { applianceEvidence, bootgateCli, bootgateConfig, buildBootRoot, labScript, type Appliance } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { openStore } from '../../daemon/store/db.js';
import { validateConfig } from '../../daemon/config/load.js';
import { RolloutService } from '../../daemon/features/rollout/service.js';
import { RolloutRepo } from '../../daemon/features/rollout/store.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const DAY0 = '2025-03-03 10:00:00';
const DAY1 = '2025-03-04 10:00:00';
const PROFILE = 'lab-rollout';

describe('a ramped rollout with two QEMU machines and a quota of one a day', { timeout: 60 * 60_000 }, () => {
  let lab: Lab | undefined;
  let assets: LabAssets | undefined;
  let app: Appliance | undefined;
  let root = '';
  let disk = '';
  let script = '';
  const first = { name: 'ROLL-1', mac: randomMac() };
  const second = { name: 'ROLL-2', mac: randomMac() };

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true });
    if (!existsSync(LIBFAKETIME)) missing.push(`${LIBFAKETIME} (Debian package faketime)`);
    assert.deepEqual(missing, [], `the rollout lab test cannot run, missing:\n  ${missing.join('\n  ')}`);
    assets = await ensureAssets();
    lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1' });
    script = labScript('{{http}}');
    root = buildBootRoot(lab, assets, script, 'root-rollout');
    disk = localDisk(lab.dir);
  });

  after(async () => {
    await app?.stop();
    await lab?.destroy();
  });

  function config(): Record<string, unknown> {
    assert.ok(lab, 'the lab did not start');
    const base = bootgateConfig(lab, { root, ipxeScript: script, scriptTransport: 'http' });
    const lab0 = (base.profiles as Record<string, Record<string, unknown>>).lab;
    return {
      ...base,
      // Only the two imported machines are answered.
      policy: { unknown: { action: 'ignore', profile: 'lab' } },
      profiles: {
        lab: lab0,
        [PROFILE]: {
          ...lab0,
          rollout: { startDate: '2025-03-03', timeZone: 'UTC', startPerGroup: 1, growthFactor: 2, dailyLimitPerGroup: 1, notAdmitted: 'local' },
        },
      },
    };
  }

  /** The two machines in the inventory and in one group, ROLL-1 less critical: written before the daemon starts. */
  function seed(): void {
    assert.ok(lab);
    const cfg = validateConfig(config(), 'lab');
    const store = openStore(cfg.store.path);
    try {
      store.tx(() => {
        for (const m of [first, second]) {
          store.computers.insert({ name: m.name, macs: [m.mac], guid: null, profile: PROFILE, kind: null, notes: '', sourceComputer: null }, Date.now());
        }
      });
      new RolloutService(RolloutRepo.open(store), () => cfg).setMembers([
        { computer: first.name, group: 'lab-vms', criticality: 1 },
        { computer: second.name, group: 'lab-vms', criticality: 2 },
      ], 'e2e');
    } finally {
      store.close();
    }
  }

  /** `bootgate serve` in the app namespace with its clock set to `when` (UTC); waits for "bootgate ready". */
  async function daemon(when: string): Promise<Appliance> {
    assert.ok(lab);
    await app?.stop();
    const path = join(lab.dir, 'bootgate.yaml');
    writeFileSync(path, stringify(config()));
    const argv = [
      'env', `LD_PRELOAD=${LIBFAKETIME}`, `FAKETIME=@${when}`, 'FAKETIME_DONT_FAKE_MONOTONIC=1', 'TZ=UTC',
      process.execPath, bootgateCli(), 'serve', '--config', path,
    ];
    const proc: Tracked = lab.spawn(`bootgate-${when.slice(0, 10)}`, argv, lab.appNs);
    const l = lab;
    // The daemon's own "ready" line (or its exit) ends the wait; HANG_MS only catches a hang.
    const ready = await waitForText(proc.logPath, /"msg":"bootgate ready"/, proc, HANG_MS);
    if (!ready) {
      await lab.stop(proc);
      throw new Error(`bootgate did not start (${JSON.stringify(proc.exitInfo)}):\n${lab.readLog(proc).slice(-4000)}`);
    }
    app = { kind: 'bootgate', process: proc, root, log: () => l.readLog(proc), stop: () => l.stop(proc) };
    return app;
  }

  const decisions = (mac: string): string[] => (app ? applianceEvidence(app, mac).summary : []);

  test('day 0: the first machine boots the profile, the second falls through to its disk; day 1: the second boots it', { timeout: 4 * VM_TIMEOUT_MS + 120_000 }, async (t) => {
    assert.ok(lab);
    seed();
    await daemon(DAY0);
    const a = await powerOn(lab, { firmware: 'bios', mac: first.mac, disk });
    t.diagnostic(`day 0 ${first.name}: ${a.reached} after ${(a.ms / 1000).toFixed(1)} s; decisions ${decisions(first.mac).join(' | ')}`);
    assert.equal(a.reached, 'linux', `${first.name} did not boot the profile:\n${a.serial.slice(-3000)}`);
    assert.ok(decisions(first.mac).some((d) => /:boot:known/.test(d)), 'no boot decision for the admitted machine');

    const b = await powerOn(lab, { firmware: 'bios', mac: second.mac, disk });
    t.diagnostic(`day 0 ${second.name}: ${b.reached} after ${(b.ms / 1000).toFixed(1)} s; decisions ${decisions(second.mac).join(' | ')}`);
    assert.equal(b.reached, 'local', `${second.name} did not fall through to its disk:\n${b.serial.slice(-3000)}`);
    const seen = decisions(second.mac);
    assert.ok(seen.length > 0 && seen.every((d) => /:local:rollout-not-admitted/.test(d)), `day 0 decisions for ${second.name}: ${seen.join(' | ')}`);

    await daemon(DAY1);
    const c = await powerOn(lab, { firmware: 'bios', mac: second.mac, disk });
    t.diagnostic(`day 1 ${second.name}: ${c.reached} after ${(c.ms / 1000).toFixed(1)} s; decisions ${decisions(second.mac).join(' | ')}`);
    assert.equal(c.reached, 'linux', `${second.name} was not admitted on day 1:\n${c.serial.slice(-3000)}`);
    assert.ok(decisions(second.mac).some((d) => /:boot:known/.test(d)), 'no boot decision on day 1');

    await app?.stop();
    const store = openStore(validateConfig(config(), 'lab').store.path);
    try {
      const rows = store.db.prepare('SELECT computer, admitted_on FROM rollout_admissions WHERE profile = ? ORDER BY admitted_on').all(PROFILE);
      assert.deepEqual(rows, [{ computer: first.name, admitted_on: '2025-03-03' }, { computer: second.name, admitted_on: '2025-03-04' }]);
    } finally {
      store.close();
    }
  });
});
