/**
 * Run-time switches persisted across restarts; each overrides its config key while set.
 * Values are validated by the caller (inventory/settings.ts) and stored as JSON.
 */
import type { SqlDb } from './sql.js';

export const SETTING_KEYS = ['answering', 'responseDelaySeconds', 'interfaces'] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

export interface RuntimeSettings {
  answering: boolean;
  responseDelaySeconds: number;
  interfaces: string[];
}

export type SettingOverrides = Partial<RuntimeSettings>;

export class SettingsRepo {
  private readonly s;

  constructor(db: SqlDb) {
    this.s = {
      all: db.prepare('SELECT key, value FROM settings'),
      set: db.prepare(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
      delete: db.prepare('DELETE FROM settings WHERE key = ?'),
    };
  }

  /** The stored overrides; rows with an unknown key or unreadable JSON are skipped, never fatal. */
  overrides(): SettingOverrides {
    const out: Record<string, unknown> = {};
    for (const r of this.s.all.all() as Array<{ key: string; value: string }>) {
      if (!(SETTING_KEYS as readonly string[]).includes(r.key)) continue;
      try {
        out[r.key] = JSON.parse(r.value);
      } catch {
        continue;
      }
    }
    return out as SettingOverrides;
  }

  set(key: SettingKey, value: unknown, now: number): void {
    this.s.set.run(key, JSON.stringify(value), now);
  }

  clear(key: SettingKey): boolean {
    return this.s.delete.run(key).changes > 0;
  }
}

/** Config values with the stored overrides on top (type-checked again: a hand-edited row cannot crash the DHCP path). */
export function effectiveSettings(base: RuntimeSettings, o: SettingOverrides): RuntimeSettings {
  return {
    answering: typeof o.answering === 'boolean' ? o.answering : base.answering,
    responseDelaySeconds: Number.isInteger(o.responseDelaySeconds) && (o.responseDelaySeconds as number) >= 0 && (o.responseDelaySeconds as number) <= 60
      ? (o.responseDelaySeconds as number) : base.responseDelaySeconds,
    interfaces: Array.isArray(o.interfaces) && o.interfaces.every((i) => typeof i === 'string') ? [...o.interfaces] : [...base.interfaces],
  };
}
