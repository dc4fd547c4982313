/**
 * The boot content of a password-gated appliance, in process, for the loaders' password prompts (GRUB's
 * form, PXELINUX's prompt): an in-memory store with `password` set globally, the password gate, a
 * config-only gatekeeper and BootContent on `root`, all on one settable clock, with the logs captured.
 */
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { BootContent } from '../../../daemon/boot/content.js';
import { ClientDirectory } from '../../../daemon/boot/clients.js';
import { Gatekeeper, configOnlyBackend } from '../../../daemon/boot/gatekeeper.js';
import type { BootgateConfig } from '../../../daemon/config/schema.js';
import { createLogger } from '../../../daemon/log.js';
import { createMetrics } from '../../../daemon/metrics.js';
import { snapshotFromConfig, type PolicySnapshot } from '../../../daemon/policy/decide.js';
import { openStore, type Store } from '../../../daemon/store/db.js';
import { PasswordAdmin } from '../../../daemon/features/password/service.js';
import { PasswordGate } from '../../../daemon/features/password/gate.js';
import { createPasswordMetrics } from '../../../daemon/features/password/metrics.js';

export interface PasswordBoot {
  store: Store;
  logs: string[];
  registry: Registry;
  clock: { t: number };
  clients: ClientDirectory;
  passwords: PasswordGate;
  content: BootContent;
}

/** `snapshot`: more of the policy snapshot (a Secure Boot fact, say). */
export async function passwordBoot(cfg: BootgateConfig, root: string, password: string, snapshot: Partial<PolicySnapshot> = {}): Promise<PasswordBoot> {
  const store = openStore(':memory:');
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } });
  const logger = createLogger('debug', sink);
  const registry = new Registry();
  const clock = { t: Date.UTC(2026, 0, 5, 9, 0, 0) };
  const clients = new ClientDirectory();
  const passwords = new PasswordGate({ store, config: () => cfg, logger, metrics: createPasswordMetrics(registry), now: () => clock.t, macOfIp: (ip) => clients.macOfIp(ip) });
  await new PasswordAdmin(store, () => cfg, () => clock.t, { ln: 10, r: 8, p: 1 }).set(null, password, 'test');
  const snap = { ...snapshotFromConfig(cfg), password: { required: false, unlocks: passwords.unlocks }, ...snapshot };
  const gate = new Gatekeeper(configOnlyBackend(snap), logger, createMetrics(registry));
  const content = new BootContent(gate, clients, () => ({
    root, httpPort: 8080, scriptTransport: 'http', retrySeconds: 30, profile: (n) => cfg.profiles[n], profiles: cfg.profiles, menu: cfg.menu, version: '0.1.0',
  }), passwords, () => clock.t);
  return { store, logs, registry, clock, clients, passwords, content };
}
