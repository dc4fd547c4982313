/**
 * Human-readable output of the inventory commands (`--json` prints the API's JSON instead).
 */
import { shortTime as short, table } from '../../cli/output.js';
import type { ComputerDto, DeviceDto } from './dto.js';

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
