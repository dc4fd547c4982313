/**
 * Unlocks: "this MAC typed the password for this profile, from this IP, until then". Kept in memory on
 * purpose: they last minutes, and a restart asking the person to type the password again is the safe
 * side. Bounded (a flood of unlock requests cannot grow it without limit) and with an injected clock.
 *
 * An unlock lasts one boot: a new DHCP DISCOVER from the MAC (the firmware, or iPXE, starting over)
 * revokes it (backend.ts), so a machine that reboots is asked again.
 */
import type { UnlockView } from '../../policy/password.js';

export interface Unlock {
  mac: string;
  /** The address the unlock was typed from; files are only served to it. */
  ip: string;
  profile: string;
  grantedAt: number;
  expiresAt: number;
}

export class UnlockRegistry implements UnlockView {
  private readonly byMac = new Map<string, Unlock>();

  constructor(private readonly now: () => number, private readonly max = 10_000) {}

  grant(u: Omit<Unlock, 'grantedAt' | 'expiresAt'>, ttlMs: number): Unlock {
    const t = this.now();
    const unlock: Unlock = { ...u, grantedAt: t, expiresAt: t + ttlMs };
    this.byMac.delete(u.mac);
    this.byMac.set(u.mac, unlock);
    if (this.byMac.size > this.max) this.sweep();
    // Still full of live unlocks: the oldest goes (it would expire first).
    while (this.byMac.size > this.max) this.byMac.delete(this.byMac.keys().next().value as string);
    return unlock;
  }

  /** The live unlock of `mac`, or undefined (an expired one is forgotten on the way). */
  active(mac: string): Unlock | undefined {
    const u = this.byMac.get(mac);
    if (!u) return undefined;
    if (u.expiresAt <= this.now()) {
      this.byMac.delete(mac);
      return undefined;
    }
    return u;
  }

  isUnlocked(mac: string, profile: string, ip: string | null): boolean {
    const u = this.active(mac);
    return u !== undefined && u.profile === profile && ip !== null && u.ip === ip;
  }

  revoke(mac: string): boolean {
    return this.byMac.delete(mac);
  }

  /** Live unlocks, oldest first (admin status). */
  list(): Unlock[] {
    this.sweep();
    return [...this.byMac.values()];
  }

  get size(): number {
    return this.byMac.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [mac, u] of this.byMac) if (u.expiresAt <= t) this.byMac.delete(mac);
  }
}
