/**
 * Human-readable output of the admin commands (`--json` prints the API's JSON instead).
 */
import type { ComputerDto, DeviceDto, EventDto, SettingsDto } from './dto.js';

/** Left-aligned columns, two spaces apart; `-` for empty cells. */
export function table(head: string[], rows: string[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === '' ? '-' : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

const short = (iso: string | null): string => (iso === null ? '' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

function bootOnce(c: ComputerDto): string {
  if (c.effectiveKind !== 'required') return '';
  return c.bootOnce.consumedAt === null ? 'ready' : `done ${short(c.bootOnce.consumedAt)}`;
}

export function computersTable(list: ComputerDto[]): string {
  if (list.length === 0) return 'no computers\n';
  return table(['NAME', 'MACS', 'SMBIOS GUID', 'PROFILE', 'KIND', 'BOOT ONCE'],
    list.map((c) => [c.name, c.macs.join(','), c.guid ?? '', c.profile, c.effectiveKind ?? `${c.kind ?? ''}?`, bootOnce(c)]));
}

export function computerText(c: ComputerDto): string {
  return [
    `name:            ${c.name}`,
    `MACs:            ${c.macs.join(', ') || '-'}`,
    `SMBIOS GUID:     ${c.guid ?? '-'}`,
    `profile:         ${c.profile}`,
    `kind:            ${c.effectiveKind ?? 'profile missing from the configuration'}${c.kind === null ? ' (from the profile)' : ''}`,
    `boot once:       ${c.effectiveKind !== 'required' ? 'not a required deployment' : c.bootOnce.consumedAt === null ? 'not yet run' : `done ${short(c.bootOnce.consumedAt)} (${c.bootOnce.consumedBy ?? ''})`}`,
    `source computer: ${c.sourceComputer ?? '-'}`,
    `notes:           ${c.notes || '-'}`,
    '',
  ].join('\n');
}

export function devicesTable(list: DeviceDto[]): string {
  if (list.length === 0) return 'no devices\n';
  return table(['MAC', 'STATUS', 'ARCH', 'SMBIOS GUID', 'IP', 'FIRST SEEN', 'LAST SEEN', 'ATTEMPTS'],
    list.map((d) => [d.mac, d.status, d.arch ?? '', d.guid ?? '', d.ip ?? '', short(d.firstSeen), short(d.lastSeen), String(d.attempts)]));
}

export function eventsTable(list: EventDto[]): string {
  if (list.length === 0) return 'no events\n';
  return table(['TIME', 'TYPE', 'MAC', 'DOOR', 'DECISION', 'REASON', 'COMPUTER', 'ACTOR', 'DETAIL'],
    list.map((e) => [short(e.at), e.type, e.mac ?? '', e.door ?? '', e.decision ?? '', e.reason ?? '', e.computer ?? '', e.actor ?? '', e.detail ?? '']));
}

export function settingsText(s: SettingsDto): string {
  const src = (k: keyof SettingsDto['effective']) => (k in s.overrides ? 'set at run time' : 'from the configuration');
  return [
    `answering:             ${s.effective.answering ? 'yes' : 'no (maintenance)'}  [${src('answering')}]`,
    `response delay:        ${s.effective.responseDelaySeconds} s  [${src('responseDelaySeconds')}]`,
    `interfaces:            ${s.effective.interfaces.length ? s.effective.interfaces.join(', ') : 'all'}  [${src('interfaces')}]`,
    '',
  ].join('\n');
}
