/**
 * Password-gated network boot. What the composition root wires:
 *
 *   const passwordMetrics = createPasswordMetrics(metrics.registry);
 *   const passwords = new PasswordGate({ store, config: () => cfg, logger, metrics: passwordMetrics,
 *     macOfIp: (ip) => clients.macOfIp(ip) });
 *   const gate = new Gatekeeper(withPasswordGate(backend, passwords, () => cfg), logger, metrics);
 *   // BootContent: passwords.file(...) before serving a plain file, passwords.script(...) for scripts.
 *   // Boot HTTP app: app.register(unlockRoutes, {...}); admin API: passwordAdminRoutes.
 *   // CLI: yargs().command(createPasswordCommand()).
 */
export { PasswordAdmin, clientKey, type PasswordStatusDto } from './service.js';
export { withPasswordGate } from './snapshot.js';
export { createPasswordCommand, processPasswordIo, type PasswordCliIo } from './cli.js';
export { passwordConfigProblems } from './config.js';
export { PasswordGate, type AttemptOutcome, type FileGate, type FileRequest, type PasswordGateOptions } from './gate.js';
export { createPasswordMetrics, type PasswordMetrics } from './metrics.js';
export { gatePassword, isGated, passwordFacts, type PasswordFacts, type UnlockView } from '../../policy/password.js';
export { passwordAdminRoutes, unlockRoutes, type PasswordAdminRoutesOptions, type UnlockRoutesOptions } from './api.js';
export type { ScriptGate, ScriptVars } from './script-gate.js';
