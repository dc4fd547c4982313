/**
 * Run-time switches on top of the configuration (answering, response delay, interfaces): what applies
 * now and where each value comes from, and changes that persist in the store until reset.
 */
import type { BootgateConfig } from '../../config/schema.js';
import { AdminError } from '../../http/admin/errors.js';
import type { Store } from '../../store/db.js';
import { effectiveSettings, type RuntimeSettings, type SettingKey, type SettingOverrides } from '../../store/settings.js';
import { auditAdmin } from '../events/service.js';
import { defineService } from '../feature.js';

export type SettingsPatch = { [K in SettingKey]?: RuntimeSettings[K] | null };

export interface SettingsDto {
  /** What the daemon uses now. */
  effective: RuntimeSettings;
  /** Set at run time (API/CLI), persisted; each overrides the config key while set. */
  overrides: SettingOverrides;
  /** From the configuration file / environment. */
  config: RuntimeSettings;
}

export class SettingsService {
  constructor(
    private readonly store: Store,
    private readonly cfg: () => BootgateConfig,
    private readonly now: () => number = Date.now,
  ) {}

  settings(): SettingsDto {
    const s = this.cfg().server;
    const config = { answering: s.answering, responseDelaySeconds: s.responseDelaySeconds, interfaces: [...s.interfaces] };
    const overrides = this.store.settings.overrides();
    return { effective: effectiveSettings(config, overrides), overrides, config };
  }

  /** Sets run-time switches; `null` removes an override (back to the config's value). */
  updateSettings(patch: SettingsPatch, actor: string): SettingsDto {
    const problems = checkSettingsPatch(patch);
    if (problems.length > 0) throw new AdminError(400, 'ERR_VALIDATION', problems[0] ?? 'invalid', problems);
    this.store.durable(() => {
      for (const [k, v] of Object.entries(patch) as Array<[SettingKey, unknown]>) {
        if (v === null) this.store.settings.clear(k);
        else if (v !== undefined) this.store.settings.set(k, v, this.now());
      }
      auditAdmin(this.store, this.now(), actor, `settings: ${JSON.stringify(patch)}`);
    });
    this.store.notify('settings');
    return this.settings();
  }
}

/** The same rules as the API's JSON schema, for the CLI's direct path. */
export function checkSettingsPatch(patch: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined) continue;
    if (k === 'answering') { if (typeof v !== 'boolean') problems.push(`answering must be true or false, found ${JSON.stringify(v)}`); }
    else if (k === 'responseDelaySeconds') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 60) problems.push(`responseDelaySeconds must be a whole number from 0 to 60, found ${JSON.stringify(v)}`);
    } else if (k === 'interfaces') {
      if (!Array.isArray(v) || v.length > 64 || !v.every((i) => typeof i === 'string' && /^[A-Za-z0-9._@-]{1,15}$/.test(i))) {
        problems.push(`interfaces must be a list of interface names (1 to 15 characters each), found ${JSON.stringify(v)}`);
      }
    } else problems.push(`unknown setting ${JSON.stringify(k)} (known: answering, responseDelaySeconds, interfaces)`);
  }
  return problems;
}

/** The admin API's SettingsService (on the service host's thread with the shared store). */
export const settingsService = defineService('settings', (c) => new SettingsService(c.store, c.config, c.now));
