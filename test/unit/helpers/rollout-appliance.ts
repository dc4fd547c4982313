/**
 * One appliance of a fleet admitting rollout machines, in a worker thread of its own (its own store
 * connection, as a separate daemon would have), for test/unit/rollout-fleet.test.ts. Day by day, when
 * the test releases the day (a shared counter), it runs the rollout's load (read, plan, admit) `rounds`
 * times; the `admin` role imports new, less critical machines into the profile meanwhile instead.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { validateConfig } from '../../../daemon/config/load.js';
import { openStore } from '../../../daemon/store/db.js';
import { RolloutService } from '../../../daemon/features/rollout/service.js';
import { RolloutRepo } from '../../../daemon/features/rollout/store.js';

/** Day 0 of the rollout, 10:00 UTC. */
export const DAY0_10H = Date.parse('2025-03-03T10:00:00Z');
export const DAY = 86_400_000;
export const DAILY_LIMIT = 3;

export const fleetRolloutConfig = () => validateConfig({
  policy: { unknown: { action: 'ignore' } },
  profiles: {
    old: { bootFiles: { 'efi-x64': 'old/bootmgfw.efi' } },
    win11: {
      kind: 'required', bootFiles: { 'efi-x64': 'win11/bootmgfw.efi' },
      rollout: { startDate: '2025-03-03', timeZone: 'UTC', startPerGroup: 3, dailyLimit: DAILY_LIMIT, notAdmitted: 'previous', previousProfile: 'old' },
    },
  },
}, 'test');

export interface ApplianceJob {
  rolloutAppliance: true;
  url: string;
  name: string;
  role: 'appliance' | 'admin';
  /** Int32 [0]: the highest day released so far, plus one. */
  flag: SharedArrayBuffer;
  days: number;
  rounds: number;
}

if (!isMainThread && (workerData as ApplianceJob | undefined)?.rolloutAppliance) {
  const job = workerData as ApplianceJob;
  const flag = new Int32Array(job.flag);
  const store = openStore(job.url, { serverName: job.name });
  let t = DAY0_10H;
  const cfg = fleetRolloutConfig();
  const service = new RolloutService(RolloutRepo.open(store), () => cfg, { now: () => t });
  try {
    for (let day = 0; day < job.days; day += 1) {
      for (;;) {
        const seen = Atomics.load(flag, 0);
        if (seen > day) break;
        Atomics.wait(flag, 0, seen, 600_000);
      }
      t = DAY0_10H + day * DAY;
      let admitted = 0;
      for (let r = 0; r < job.rounds; r += 1) {
        if (job.role === 'admin') {
          // A new machine ranked before every other one: a plan made without it differs.
          const name = `imp-${day}-${r}`;
          store.durable(() => store.computers.insert({ name, macs: [`52:54:00:0a:${day.toString(16).padStart(2, '0')}:${r.toString(16).padStart(2, '0')}`], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, t));
          service.setMembers([{ computer: name, group: 'desktops', criticality: 100_000 - (day * 100 + r) }], 'import');
        } else {
          admitted += service.load(t)[0]?.plan.newlyAdmitted.length ?? 0;
        }
      }
      parentPort?.postMessage({ day, admitted });
    }
  } finally {
    store.close();
  }
}
