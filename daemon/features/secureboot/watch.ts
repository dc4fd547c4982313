/**
 * The refusal watch: feeds each machine's offers, transfers and requests through the pure rule
 * (daemon/policy/secure-boot.ts) and, when it says the firmware refused the program, remembers the
 * machine (it then gets the Secure Boot chain), with a log line, an audit event and a metric. It runs
 * before the decision of each request, so the very request that reveals the refusal (the HTTP boot
 * attempt of the same power cycle, or the PXE DISCOVER after a reset) is answered with the signed chain.
 */
import type { DecisionContext } from '../../boot/gatekeeper.js';
import type { Logger } from '../../log.js';
import { LruMap } from '../../lru.js';
import { isShim, sameBootPath, watchStep, type WatchEvent, type WatchState } from '../../policy/secure-boot.js';
import { guidReadings } from '../../policy/guid.js';
import { DecodeError } from '../../protocol/errors.js';
import { decodeDhcpv6, duidIdentity, macOfLinkLocal } from '../../protocol/dhcpv6/codec.js';
import type { BootgateConfig } from '../../config/schema.js';
import type { ClientInfo, Decision } from '../../policy/types.js';
import { auditEvent, type AuditEventInput } from '../../store/audit.js';
import type { SecureBootMetrics } from './metrics.js';
import type { SecureBootRow } from './store.js';

/** Machines watched at once; a flood of random MACs evicts the oldest. */
const WATCHED_MAX = 10_000;

/**
 * How long after shim was delivered GRUB has to ask for anything (its `.lst` files, its grub.cfg): shim
 * loads GRUB from Bootgate within seconds; GRUB asking the wrong server is silence here.
 */
export const GRUB_SILENCE_MS = 120_000;

/** DHCPv6 messages read per second at most; the rest are counted (`limited`) and not read. */
export const DHCPV6_PER_SECOND = 200;

/** What GRUB itself asks for: its modules' lists and its configuration under its prefix. */
const GRUB_REQUEST = /^[/\\]*(boot[/\\])?grub[/\\]/i;

export class RefusalWatch {
  /** Least recently changed first. */
  private readonly watched = new LruMap<string, WatchState>(WATCHED_MAX);
  /** Machines sent shim whose GRUB has not asked Bootgate for anything yet: MAC -> when shim was delivered. */
  private readonly awaitingGrub = new Map<string, number>();

  constructor(
    private readonly o: {
      /** Writes a noticed refusal (the mark and its audit event); may finish later, off this thread. */
      record: (row: SecureBootRow, event: AuditEventInput) => Promise<unknown>;
      config: () => BootgateConfig;
      logger: Logger;
      metrics: SecureBootMetrics;
      now: () => number;
      /** The MAC of a client seen lately with this option 97 GUID (either reading). */
      macOfGuid?: (guid: string) => string | undefined;
    },
  ) {}

  private v6Window = { second: -1, count: 0 };

  /**
   * A DHCPv6 datagram heard on port 547 (never answered). A client's message is mapped to the machine by
   * its DUID (DUID-UUID: the SMBIOS UUID option 97 carried; DUID-LL/LLT: the MAC) or, failing that, by
   * the MAC inside an EUI-64 link-local source address; a watched machine's Solicit is the fall-through
   * its firmware makes after refusing the program. Returns the MAC it was mapped to, if any.
   */
  dhcpv6(msg: Uint8Array, from: string): string | null {
    const second = Math.floor(this.o.now() / 1000);
    if (this.v6Window.second !== second) this.v6Window = { second, count: 0 };
    if (++this.v6Window.count > DHCPV6_PER_SECOND) {
      this.o.metrics.dhcpv6.inc({ result: 'limited' });
      return null;
    }
    let m;
    try {
      m = decodeDhcpv6(msg);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.o.metrics.dhcpv6.inc({ result: err.code === 'ERR_DHCPV6_NOT_CLIENT' ? 'not-client' : 'malformed' });
      return null;
    }
    let mac: string | null | undefined = null;
    const id = m.duid ? duidIdentity(m.duid) : { kind: 'other' as const };
    if (id.kind === 'mac') mac = id.mac;
    else if (id.kind === 'uuid') {
      const r = guidReadings(id.bytes);
      mac = r ? this.o.macOfGuid?.(r.wire) : undefined;
    }
    mac ??= macOfLinkLocal(from);
    if (!mac) {
      this.o.metrics.dhcpv6.inc({ result: 'unmatched' });
      return null;
    }
    this.o.metrics.dhcpv6.inc({ result: 'matched' });
    const state = this.watched.peek(mac);
    if (state !== undefined) {
      this.o.logger.debug({ mac, from, type: m.type, arch: m.archTypes }, 'DHCPv6 message from a watched machine');
      this.step(mac, state, { kind: 'dhcpv6', ipxe: m.userClasses.some((c) => c === 'iPXE') }, null);
    }
    return mac;
  }

  /** A request about to be decided. */
  request(client: ClientInfo, context: DecisionContext): void {
    if (context.file !== undefined && GRUB_REQUEST.test(context.file)) this.awaitingGrub.delete(client.mac);
    const state = this.watched.peek(client.mac);
    if (state === undefined) return;
    this.step(client.mac, state, { kind: 'request', door: client.door, ipxe: client.ipxe, httpBoot: client.httpBoot, file: context.file ?? null }, client);
  }

  /** A decision made: a native UEFI client told to fetch a program is watched until that program shows it ran. */
  decided(client: ClientInfo, decision: Decision): void {
    if (decision.kind !== 'boot' && decision.kind !== 'password') return;
    if (client.door !== 'dhcp' && client.door !== 'pxe') return;
    if (client.ipxe || client.arch === null || !client.arch.startsWith('efi-')) return;
    const signed = this.o.config().profiles[decision.profile]?.secureBootFiles?.[client.arch];
    const isSigned = signed !== undefined && sameBootPath(signed, decision.target.path);
    if (isSigned) this.o.metrics.chains.inc();
    const state = this.watched.peek(client.mac) ?? null;
    if (isSigned && state === null) return;
    this.step(client.mac, state, { kind: 'offer', file: decision.target.path, signed: isSigned }, client);
  }

  /** A file delivered in full to the machine (TFTP or HTTP). */
  served(mac: string, path: string): void {
    if (isShim(path)) {
      this.awaitingGrub.delete(mac);
      this.awaitingGrub.set(mac, this.o.now());
      if (this.awaitingGrub.size > WATCHED_MAX) {
        const oldest = this.awaitingGrub.keys().next();
        if (!oldest.done) this.awaitingGrub.delete(oldest.value);
      }
    }
    const state = this.watched.peek(mac);
    if (state !== undefined) this.step(mac, state, { kind: 'served', file: path }, null);
  }

  /**
   * Logs a hint for each machine sent shim whose GRUB never asked Bootgate for anything within
   * GRUB_SILENCE_MS: Debian's signed network GRUB takes its server from the site DHCP server's ACK only,
   * so it is asking that server's next-server instead. Returns the MACs hinted about.
   */
  sweep(): string[] {
    const now = this.o.now();
    const hinted: string[] = [];
    for (const [mac, at] of this.awaitingGrub) {
      if (now - at < GRUB_SILENCE_MS) break; // insertion order is delivery order
      this.awaitingGrub.delete(mac);
      hinted.push(mac);
      this.o.metrics.grubSilent.inc();
      this.o.logger.warn(
        { mac, seconds: Math.round((now - at) / 1000) },
        'sent shim to this machine but its GRUB never asked Bootgate for anything: Debian\'s signed network GRUB takes its server from the site DHCP server\'s ACK only; make that server send this appliance as next-server (siaddr) or option 66 (README, Secure Boot machines)',
      );
    }
    return hinted;
  }

  /** Feeds one event to the rule; `before` is the machine's state as watched now (null: not watched). */
  private step(mac: string, before: WatchState | null, ev: WatchEvent, client: ClientInfo | null): void {
    const r = watchStep(before, ev, this.o.now());
    if (r.state === null) this.watched.delete(mac);
    else if (r.state !== before) this.watched.set(mac, r.state);
    if (r.refusal === null || before === null) return;
    const at = this.o.now();
    const row: SecureBootRow = { mac, source: 'refusal', reason: r.refusal, file: before.file, at, actor: 'firmware' };
    this.o.record(row, auditEvent({
      at, type: 'secure-boot', mac, door: client?.door ?? null, reason: r.refusal, ip: client?.ip ?? null, arch: client?.arch ?? null,
      detail: `firmware refused ${before.file} (likely Secure Boot); offering the Secure Boot chain from now on`,
    })).catch((err: unknown) => this.o.logger.error({ mac, err: (err as Error).message }, 'secure boot: could not record a noticed refusal'));
    this.o.metrics.refusals.inc({ reason: r.refusal });
    this.o.logger.warn(
      { mac, reason: r.refusal, file: before.file, client: client?.ip ?? undefined },
      'likely Secure Boot refusal: the firmware fetched the program and fell through without running it; offering the Secure Boot chain from now on',
    );
  }
}
