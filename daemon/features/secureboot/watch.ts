/**
 * The refusal watch: feeds each machine's offers, transfers and requests through the pure rule
 * (daemon/policy/secure-boot.ts) and, when it says the firmware refused the program, remembers the
 * machine (it then gets the Secure Boot chain), with a log line, an audit event and a metric. It runs
 * before the decision of each request, so the very request that reveals the refusal (the HTTP boot
 * attempt of the same power cycle, or the PXE DISCOVER after a reset) is answered with the signed chain.
 */
import type { DecisionContext } from '../../boot/gatekeeper.js';
import type { Logger } from '../../log.js';
import { watchStep, type WatchEvent, type WatchState } from '../../policy/secure-boot.js';
import type { BootgateConfig } from '../../config/schema.js';
import type { ClientInfo, Decision } from '../../policy/types.js';
import { auditEvent } from '../../store/audit.js';
import type { Store } from '../../store/db.js';
import type { SecureBootMetrics } from './metrics.js';
import type { SecureBootRepo } from './store.js';

/** Machines watched at once; a flood of random MACs evicts the oldest. */
const WATCHED_MAX = 10_000;

export class RefusalWatch {
  private readonly watched = new Map<string, WatchState>();

  constructor(
    private readonly o: {
      store: Store;
      repo: SecureBootRepo;
      config: () => BootgateConfig;
      logger: Logger;
      metrics: SecureBootMetrics;
      now: () => number;
    },
  ) {}

  /** A request about to be decided. */
  request(client: ClientInfo, context: DecisionContext): void {
    if (!this.watched.has(client.mac)) return;
    this.step(client.mac, { kind: 'request', door: client.door, ipxe: client.ipxe, httpBoot: client.httpBoot, file: context.file ?? null }, client);
  }

  /** A decision made: a native UEFI client told to fetch a program is watched until that program shows it ran. */
  decided(client: ClientInfo, decision: Decision): void {
    if (decision.kind !== 'boot' && decision.kind !== 'password') return;
    if (client.door !== 'dhcp' && client.door !== 'pxe') return;
    if (client.ipxe || client.arch === null || !client.arch.startsWith('efi-')) return;
    const signed = this.o.config().profiles[decision.profile]?.secureBootFiles?.[client.arch];
    const isSigned = signed !== undefined && sameFile(signed, decision.target.path);
    if (isSigned) this.o.metrics.chains.inc();
    if (isSigned && !this.watched.has(client.mac)) return;
    this.step(client.mac, { kind: 'offer', file: decision.target.path, signed: isSigned }, client);
  }

  /** A file delivered in full to the machine (TFTP or HTTP). */
  served(mac: string, path: string): void {
    if (this.watched.has(mac)) this.step(mac, { kind: 'served', file: path }, null);
  }

  private step(mac: string, ev: WatchEvent, client: ClientInfo | null): void {
    const before = this.watched.get(mac) ?? null;
    const r = watchStep(before, ev, this.o.now());
    if (r.state === null) this.watched.delete(mac);
    else if (r.state !== before) {
      this.watched.delete(mac);
      this.watched.set(mac, r.state);
      if (this.watched.size > WATCHED_MAX) {
        const oldest = this.watched.keys().next();
        if (!oldest.done) this.watched.delete(oldest.value);
      }
    }
    if (r.refusal === null || before === null) return;
    const at = this.o.now();
    try {
      this.o.store.durable(() => {
        this.o.repo.put({ mac, source: 'refusal', reason: r.refusal, file: before.file, at, actor: 'firmware' });
        this.o.store.audit.insert(auditEvent({
          at, type: 'secure-boot', mac, door: client?.door ?? null, reason: r.refusal, ip: client?.ip ?? null, arch: client?.arch ?? null,
          detail: `firmware refused ${before.file} (likely Secure Boot); offering the Secure Boot chain from now on`,
        }));
      });
    } catch (err) {
      this.o.logger.error({ mac, err: (err as Error).message }, 'secure boot: could not record a noticed refusal');
      return;
    }
    this.o.metrics.refusals.inc({ reason: r.refusal });
    this.o.logger.warn(
      { mac, reason: r.refusal, file: before.file, client: client?.ip ?? undefined },
      'likely Secure Boot refusal: the firmware fetched the program and fell through without running it; offering the Secure Boot chain',
    );
  }
}

function sameFile(a: string, b: string): boolean {
  const n = (p: string) => p.replace(/^[/\\]+/, '').toLowerCase();
  return n(a) === n(b);
}
