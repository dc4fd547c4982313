/**
 * Human-readable output of `bootgate settings` (`--json` prints the API's JSON instead).
 */
import type { SettingsDto } from './service.js';

export function settingsText(s: SettingsDto): string {
  const src = (k: keyof SettingsDto['effective']) => (k in s.overrides ? 'set at run time' : 'from the configuration');
  return [
    `answering:             ${s.effective.answering ? 'yes' : 'no (maintenance)'}  [${src('answering')}]`,
    `response delay:        ${s.effective.responseDelaySeconds} s  [${src('responseDelaySeconds')}]`,
    `interfaces:            ${s.effective.interfaces.length ? s.effective.interfaces.join(', ') : 'all'}  [${src('interfaces')}]`,
    '',
  ].join('\n');
}
