/**
 * Whether the lock-step loop (transfer.ts, runSync) may spin while it waits for the client's next ACK:
 * only while the machine has a whole CPU to spare for it.
 *
 * Spinning saves the sleep and wake-up a blocking server pays per block, which is most of a block's
 * cost on a quiet LAN with a CPU free. Where every CPU is wanted, the spin takes one from whoever needs
 * it: with QEMU's emulated firmware as the client on the same two CPUs, a spinning server made iPXE's
 * kernel download 1.06-1.48 s against 0.72-0.88 s without the spin (dnsmasq: 0.70 s). So once per
 * period the thread reads the machine's idle time (/proc/stat) and adds back the time it spun itself
 * (that CPU would be idle without the spin): spinning stays on while that comes to at least one CPU.
 * After a quiet stretch the first period does not spin: the machine is measured as it is now, with the
 * transfer (and its client) running, not averaged over the idle time before it.
 * A machine with one CPU never spins (the loop would starve the daemon's own main thread); where
 * /proc/stat cannot be read, the loop spins as it always did.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** How often the machine's idle time is read, ms. */
export const SPIN_BUDGET_PERIOD_MS = 250;

/** The aggregate line of /proc/stat: idle (idle + iowait) and total jiffies, or null. */
export function parseProcStat(text: string): { idle: number; total: number } | null {
  const nl = text.indexOf('\n');
  const line = nl < 0 ? text : text.slice(0, nl);
  const m = /^cpu\s+(.*)$/.exec(line);
  if (!m) return null;
  const f = (m[1] as string).trim().split(/\s+/).map(Number);
  if (f.length < 5 || f.some((x) => !Number.isFinite(x) || x < 0)) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is inside user already.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle: (f[3] as number) + (f[4] as number), total };
}

function readProcStat(): string | null {
  try {
    return readFileSync('/proc/stat', 'latin1');
  } catch {
    return null;
  }
}

export class SpinBudget {
  private last: { idle: number; total: number } | null;
  private lastAt: number;
  private spunMs = 0;
  private ok = true;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly readStat: () => string | null = readProcStat,
    private readonly cpus: number = availableParallelism(),
    private readonly periodMs: number = SPIN_BUDGET_PERIOD_MS,
  ) {
    const text = readStat();
    this.last = text === null ? null : parseProcStat(text);
    this.lastAt = now();
    this.ok = false;
  }

  /** Whether the loop may spin now (re-reads the machine once a period). */
  allowed(): boolean {
    const t = this.now();
    if (t - this.lastAt >= this.periodMs) this.update(t);
    return this.ok;
  }

  /** Time the loop just spent spinning, ms. */
  spent(ms: number): void {
    if (ms > 0) this.spunMs += ms;
  }

  private update(t: number): void {
    const text = this.readStat();
    const cur = text === null ? null : parseProcStat(text);
    const prev = this.last;
    const wall = t - this.lastAt;
    this.last = cur;
    this.lastAt = t;
    const spun = this.spunMs;
    this.spunMs = 0;
    if (this.cpus < 2) {
      this.ok = false;
      return;
    }
    if (wall > 2 * this.periodMs) {
      // The last look is old (the thread had nothing to do): an average over that stretch says nothing
      // of now. No spin until a fresh period has been measured.
      this.ok = false;
      return;
    }
    if (cur === null || prev === null || cur.total <= prev.total) {
      // Unknown (no /proc/stat, or no tick yet): as before this check existed.
      this.ok = true;
      return;
    }
    const idleCpus = ((cur.idle - prev.idle) / (cur.total - prev.total)) * this.cpus;
    const spinCpus = wall > 0 ? Math.min(1, spun / wall) : 0;
    this.ok = idleCpus + spinCpus >= 1;
  }
}

let threadBudget: SpinBudget | null = null;

/** This thread's budget (one per worker thread: each reads the machine for its own loop). */
export function spinBudget(): SpinBudget {
  threadBudget ??= new SpinBudget();
  return threadBudget;
}
