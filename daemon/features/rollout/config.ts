/**
 * The rollout and maintenance-window parts of the configuration, checked beyond what the JSON schema
 * can say (a real date, a known time zone, a parsable window, a fallback profile that exists), and
 * turned into the plain settings the pure planner takes.
 */
import type { BootgateConfig, MaintenanceWindowConfig, RolloutConfig } from '../../config/schema.js';
import { checkTimeZone, parseLocalDate, TimeZoneError } from './clock.js';
import type { RolloutSettings } from './plan.js';
import { parseWindow, WindowSpecError, type WindowSpec } from './windows.js';

export function windowsOf(cfg: BootgateConfig): Record<string, MaintenanceWindowConfig> {
  return cfg.maintenanceWindows ?? {};
}

/** Profiles that carry a rollout, by name. */
export function rolloutsOf(cfg: BootgateConfig): Array<[string, RolloutConfig]> {
  return Object.entries(cfg.profiles).flatMap(([name, p]) => (p.rollout ? [[name, p.rollout] as [string, RolloutConfig]] : []));
}

export function settingsOf(r: RolloutConfig): RolloutSettings {
  return {
    startDate: r.startDate, timeZone: r.timeZone, startPerGroup: r.startPerGroup, growthFactor: r.growthFactor,
    dailyLimit: r.dailyLimit, dailyLimitPerGroup: r.dailyLimitPerGroup,
  };
}

function rolloutProblems(cfg: BootgateConfig, name: string, r: RolloutConfig): string[] {
  const at = `profiles.${name}.rollout`;
  const problems: string[] = [];
  if (parseLocalDate(r.startDate) === null) problems.push(`${at}.startDate: expected a calendar date YYYY-MM-DD, found "${r.startDate}"`);
  try {
    checkTimeZone(r.timeZone);
  } catch (err) {
    if (!(err instanceof TimeZoneError)) throw err;
    problems.push(`${at}.timeZone: ${err.message}`);
  }
  if (r.notAdmitted === 'previous') {
    if (r.previousProfile === null) problems.push(`${at}.previousProfile: required when notAdmitted is "previous" (the profile a computer keeps until it is admitted)`);
    else if (r.previousProfile === name) problems.push(`${at}.previousProfile: must be another profile than "${name}" itself`);
    else if (!Object.hasOwn(cfg.profiles, r.previousProfile)) {
      problems.push(`${at}.previousProfile: expected the name of a profile (${Object.keys(cfg.profiles).join(', ')}), found "${r.previousProfile}"`);
    }
  }
  if (r.dailyLimit !== null && r.dailyLimitPerGroup !== null && r.dailyLimitPerGroup > r.dailyLimit) {
    problems.push(`${at}.dailyLimitPerGroup: ${r.dailyLimitPerGroup} is more than dailyLimit ${r.dailyLimit}, which caps it anyway`);
  }
  return problems;
}

/** Problems that make the rollout or window configuration unusable; empty when it is fine. */
export function rolloutConfigProblems(cfg: BootgateConfig): string[] {
  const problems = rolloutsOf(cfg).flatMap(([name, r]) => rolloutProblems(cfg, name, r));
  const owner = new Map<string, string>();
  for (const [name, w] of Object.entries(windowsOf(cfg))) {
    try {
      parseWindow(w.schedule, w.timeZone);
    } catch (err) {
      if (!(err instanceof WindowSpecError)) throw err;
      problems.push(`maintenanceWindows.${name}: ${err.message}`);
    }
    for (const g of w.groups) {
      const other = owner.get(g);
      if (other !== undefined) problems.push(`maintenanceWindows.${name}.groups: group "${g}" already keeps window "${other}" (a group has one window)`);
      else owner.set(g, name);
    }
  }
  return problems;
}

/** The parsed windows by name; throws WindowSpecError on the first bad one (check problems first). */
export function compileWindows(cfg: BootgateConfig): Map<string, WindowSpec> {
  const out = new Map<string, WindowSpec>();
  for (const [name, w] of Object.entries(windowsOf(cfg))) out.set(name, parseWindow(w.schedule, w.timeZone));
  return out;
}

/** Which window each group keeps. */
export function groupWindows(cfg: BootgateConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, w] of Object.entries(windowsOf(cfg))) for (const g of w.groups) if (!out.has(g)) out.set(g, name);
  return out;
}
