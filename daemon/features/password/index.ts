/**
 * Password-gated network boot. Attached, the feature puts its facts (the global switch, the live
 * unlocks) into every policy snapshot, sees every decision (a new DHCP exchange on port 67 ends the
 * previous boot's unlock), serves /passwords on the admin API, and hands the composition root the gate
 * that the file and script doors ask (`gate`) and the public unlock route iPXE posts to (`unlockRoutes`).
 */
import type { FastifyInstance } from 'fastify';
import type { BootgateConfig } from '../../config/schema.js';
import { passwordFacts, type PasswordFacts } from '../../policy/password.js';
import { type AttachedFeature, type Feature, serviceOf } from '../feature.js';
import { passwordAdminRoutes, unlockRoutes, type UnlockRoutesOptions } from './api.js';
import { createPasswordCommand } from './cli.js';
import { passwordConfigProblems } from './config.js';
import { PasswordGate } from './gate.js';
import { createPasswordMetrics } from './metrics.js';
import { passwordChecksService, passwordService } from './service.js';

export { PasswordAdmin, clientKey, type PasswordStatusDto } from './service.js';
export { createPasswordCommand, processPasswordIo, type PasswordCliIo } from './cli.js';
export { passwordConfigProblems } from './config.js';
export { PasswordGate, type AttemptOutcome, type FileGate, type FileRequest, type PasswordGateOptions } from './gate.js';
export type { ScriptGate, ScriptVars } from './script-gate.js';

export interface AttachedPasswords extends AttachedFeature {
  gate: PasswordGate;
  /** The unlock route for the boot HTTP app (no admin token: the password is the credential). */
  unlockRoutes(app: FastifyInstance, opts: Pick<UnlockRoutesOptions, 'decide' | 'script'>): Promise<void>;
}

export const password: Feature<AttachedPasswords> = {
  name: 'password',
  configProblems: passwordConfigProblems,
  commands: (io) => [createPasswordCommand(io)],
  services: [passwordService, passwordChecksService],
  attach(ctx) {
    const gate = new PasswordGate({
      store: ctx.store, config: ctx.config, logger: ctx.logger, metrics: createPasswordMetrics(ctx.registry), now: ctx.now, macOfIp: ctx.macOfIp,
      checks: serviceOf(ctx, passwordChecksService),
    });
    const admin = serviceOf(ctx, passwordService);
    // The same facts object while the configuration is the same: the snapshot is then not rebuilt.
    let facts: { cfg: BootgateConfig; value: PasswordFacts } | null = null;
    return {
      gate,
      snapshot: {
        password: () => {
          const cfg = ctx.config();
          if (facts?.cfg !== cfg) facts = { cfg, value: { ...passwordFacts(cfg), unlocks: gate.unlocks } };
          return facts.value;
        },
      },
      observe: (client, decision) => gate.observe(client, decision),
      routes: async (app, o) => passwordAdminRoutes(app, { admin, actor: o.actor, unlocks: () => gate.unlocks.list() }),
      unlockRoutes: (app, o) => unlockRoutes(app, { ...o, passwords: gate, lockoutMinutes: () => ctx.config().password.lockoutMinutes }),
    };
  },
};
