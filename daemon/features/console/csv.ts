/**
 * The inventory as CSV, in the columns the import reads back (Name, MAC, SMBIOS GUID, Profile, Kind,
 * Source computer, Notes): an export edited in a spreadsheet imports again unchanged.
 */
import type { ComputerDto } from '../inventory/dto.js';

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet does not run it as a formula. */
function cell(v: string): string {
  const safe = /^[=+\-@]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function computersCsv(list: ComputerDto[]): string {
  const rows = [['Name', 'MAC', 'SMBIOS GUID', 'Profile', 'Kind', 'Source computer', 'Notes']];
  for (const c of list) rows.push([c.name, c.macs.join(' '), c.guid ?? '', c.profile, c.kind ?? '', c.sourceComputer ?? '', c.notes]);
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
