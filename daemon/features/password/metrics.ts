/**
 * Password gating metrics, on the daemon's registry. No label carries a MAC, an IP or a file name.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export const ATTEMPT_RESULTS = ['ok', 'wrong', 'locked', 'no-password', 'busy'] as const;
export type AttemptResult = (typeof ATTEMPT_RESULTS)[number];

export const FILE_REFUSALS = ['no-unlock', 'bad-signature', 'expired', 'wrong-client', 'malformed', 'outside-grant'] as const;
export type FileRefusal = (typeof FILE_REFUSALS)[number];

export function createPasswordMetrics(registry: Registry) {
  // Unlocks expire on their own: the gauge asks the gate at scrape time instead of being kept in step.
  const source = { count: (): number => 0 };
  return {
    /** The gate registers where the number of live unlocks comes from. */
    countUnlocksWith(fn: () => number): void {
      source.count = fn;
    },
    attempts: new Counter({
      name: 'bootgate_password_attempts_total',
      help: 'Boot passwords typed at iPXE, by result (ok, wrong, locked: refused during a lockout, no-password: none set, busy)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    lockouts: new Counter({
      name: 'bootgate_password_lockouts_total',
      help: 'Lockouts started after too many wrong passwords, by what was locked (mac, ip)',
      labelNames: ['by'] as const,
      registers: [registry],
    }),
    fileRefusals: new Counter({
      name: 'bootgate_password_file_refusals_total',
      help: 'Password-gated files refused to a client without a valid unlock or signed URL, by door (tftp, http) and reason',
      labelNames: ['door', 'reason'] as const,
      registers: [registry],
    }),
    unlocksActive: new Gauge({
      name: 'bootgate_password_unlocks_active',
      help: 'Clients currently unlocked (typed the password for their profile; lasts one boot, at most password.unlockMinutes)',
      registers: [registry],
      collect() {
        this.set(source.count());
      },
    }),
  };
}

export type PasswordMetrics = ReturnType<typeof createPasswordMetrics>;
