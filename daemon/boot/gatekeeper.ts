/**
 * The single place every door asks for a decision. It calls the pure `decide()` on the backend's
 * current snapshot, then logs one line, counts it, and hands it to the backend to record
 * (pending devices, audit events). Doors never look at policy themselves.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { decide, type PolicySnapshot } from '../policy/decide.js';
import type { ClientInfo, Decision } from '../policy/types.js';

export interface PolicyBackend {
  /** The config + inventory view decisions are made on; cheap to call (cached, rebuilt on change). */
  snapshot(): PolicySnapshot;
  /** Effects of a decision: record a pending device, an audit event, ... Must not throw. */
  record(client: ClientInfo, decision: Decision, context: DecisionContext): void;
}

/** Where the request came from, for the log line and the audit event. */
export interface DecisionContext {
  xid?: number;
  iface?: string;
  file?: string;
  /** A profile picked from the built-in menu (policy/decide.ts). */
  choice?: string;
}

export class Gatekeeper {
  constructor(
    private backend: PolicyBackend,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  private readonly observers: Array<(client: ClientInfo, decision: Decision) => void> = [];
  private readonly preceders: Array<(client: ClientInfo, context: DecisionContext) => void> = [];

  /**
   * Adds a hook that sees every request before it is decided (the Secure Boot refusal watch: the request
   * that reveals a refusal is answered with the signed chain). One that throws never costs the decision.
   */
  precede(hook: (client: ClientInfo, context: DecisionContext) => void): void {
    this.preceders.push(hook);
  }

  /**
   * Adds an observer of every decision (which profile a client is booting, for boot-once completion; a
   * new DHCP exchange ending the previous boot's password unlock). One that throws never costs the decision.
   */
  observe(observer: (client: ClientInfo, decision: Decision) => void): void {
    this.observers.push(observer);
  }

  /** Swap the backend (config reload) without touching the doors. */
  setBackend(backend: PolicyBackend): void {
    this.backend = backend;
  }

  decide(client: ClientInfo, context: DecisionContext = {}): Decision {
    for (const p of this.preceders) {
      try {
        p(client, context);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, mac: client.mac }, 'decision hook failed');
      }
    }
    const decision = decide(client, this.backend.snapshot(), context.choice);
    this.metrics.decisions.tally(client.door, decision.kind, decision.reason, client.arch ?? 'unknown');
    // One line per decision with the fixed keys; `ignore` of non-PXE DHCP traffic is routine, keep it at debug.
    const level = decision.kind === 'ignore' && decision.reason === 'not-pxe' ? 'debug' : 'info';
    // The line's object is built only when the level is on: at 'warn' a storm costs no allocation here.
    if (this.logger.isLevelEnabled(level)) this.logger[level](
      {
        mac: client.mac,
        xid: context.xid,
        iface: context.iface,
        arch: client.arch ?? client.archCode,
        client: client.ip ?? undefined,
        door: client.door,
        decision: decision.kind,
        reason: decision.reason,
        profile: 'profile' in decision ? decision.profile : undefined,
        file: context.file ?? ('target' in decision ? decision.target.path : undefined),
      },
      'decision',
    );
    this.backend.record(client, decision, context);
    for (const o of this.observers) {
      try {
        o(client, decision);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, mac: client.mac }, 'decision observer failed');
      }
    }
    return decision;
  }
}

/** The backend used before (or without) an inventory: the config alone, nothing recorded. */
export function configOnlyBackend(snapshot: PolicySnapshot): PolicyBackend {
  return { snapshot: () => snapshot, record: () => undefined };
}
