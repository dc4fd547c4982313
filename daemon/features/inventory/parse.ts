/**
 * Reading an inventory file: CSV as a hardware supplier sends it (Name, MAC, SMBIOS GUID, Profile,
 * optional Source computer; Configuration Manager's import columns) or YAML. Parsing only says where
 * each computer came from (`line 12`) and what it carried; validate.ts judges the values.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { LineCounter, isMap, isSeq, parseDocument, type Node } from 'yaml';
import type { RawComputer } from './validate.js';

export interface ParsedRow {
  /** Where the computer is in the file, for error messages: `line 3` or `item 2 (line 7)`. */
  where: string;
  raw: RawComputer;
}

export interface ParsedFile {
  rows: ParsedRow[];
  /** Problems with the file itself (syntax, header); per-row value problems come later. */
  problems: string[];
  /** CSV columns not understood (a supplier's serial number, asset tag...): reported, not imported. */
  ignoredColumns: string[];
}

export type ImportFormat = 'csv' | 'yaml';

export const IMPORT_ROWS_MAX = 100_000;

type Field = keyof RawComputer;

/** Column headings, compared lower-case without spaces or punctuation. */
const COLUMN_ALIASES: Record<string, Field> = {
  name: 'name', computername: 'name', computer: 'name', hostname: 'name',
  mac: 'macs', macs: 'macs', macaddress: 'macs', macaddresses: 'macs',
  smbiosguid: 'guid', guid: 'guid', uuid: 'guid', smbiosuuid: 'guid', systemuuid: 'guid',
  profile: 'profile', bootprofile: 'profile',
  sourcecomputer: 'sourceComputer', source: 'sourceComputer',
  kind: 'kind', deployment: 'kind', deploymentkind: 'kind',
  notes: 'notes', note: 'notes', comment: 'notes', comments: 'notes', description: 'notes',
};

/** Column order of a file without headings (Configuration Manager's import order, plus Profile). */
const HEADERLESS: Field[] = ['name', 'macs', 'guid', 'profile', 'sourceComputer'];

const heading = (cell: string): string => cell.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Excel in many locales writes `;`; pick the separator the first line uses most outside quotes. */
function delimiterOf(text: string): string {
  const firstLine = text.slice(0, text.search(/\r?\n|$/)).replace(/"[^"]*"/g, '');
  let best = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t']) {
    const n = firstLine.split(d).length - 1;
    if (n > bestCount) { best = d; bestCount = n; }
  }
  return best;
}

interface CsvRecord { record: string[]; info: { lines: number }; raw: string }

function columnsOf(first: string[]): { fields: Array<Field | null>; headerless: boolean; ignored: string[] } {
  const mapped = first.map((c) => COLUMN_ALIASES[heading(c)] ?? null);
  if (mapped.some((f) => f !== null)) {
    const ignored = first.filter((_, i) => mapped[i] === null).map((c) => c.trim()).filter((c) => c !== '');
    return { fields: mapped, headerless: false, ignored };
  }
  return { fields: first.map((_, i) => HEADERLESS[i] ?? null), headerless: true, ignored: [] };
}

export function parseComputersCsv(text: string): ParsedFile {
  let records: CsvRecord[];
  try {
    records = parseCsv(text, {
      bom: true, info: true, raw: true, delimiter: delimiterOf(text), relax_column_count: true, skip_empty_lines: true, trim: true,
    }) as unknown as CsvRecord[];
  } catch (err) {
    const e = err as Error & { lines?: number };
    return { rows: [], problems: [`line ${e.lines ?? '?'}: ${e.message.replace(/ at line \d+$/, '')}`], ignoredColumns: [] };
  }
  const first = records[0];
  if (!first) return { rows: [], problems: ['the file has no rows'], ignoredColumns: [] };
  const { fields, headerless, ignored } = columnsOf(first.record);
  const problems: string[] = [];
  const seen = new Map<Field, number>();
  fields.forEach((f, i) => {
    if (f === null) return;
    const prev = seen.get(f);
    if (prev !== undefined) problems.push(`line 1: columns ${prev + 1} and ${i + 1} both give the ${f === 'macs' ? 'MAC' : f}`);
    seen.set(f, i);
  });
  if (!headerless && !seen.has('name')) problems.push('line 1: no Name column');
  if (!headerless && !seen.has('macs') && !seen.has('guid')) problems.push('line 1: no MAC or SMBIOS GUID column');
  const body = headerless ? records : records.slice(1);
  if (body.length > IMPORT_ROWS_MAX) problems.push(`${body.length} computers in one file, at most ${IMPORT_ROWS_MAX}`);
  if (problems.length > 0) return { rows: [], problems, ignoredColumns: ignored };
  const rows: ParsedRow[] = [];
  for (const r of body) {
    if (r.record.every((c) => c === '')) continue;
    // info.lines is where the record ends; a quoted cell may span lines, so count back to its start.
    const line = r.info.lines - (r.raw.replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0);
    const raw: RawComputer = {};
    fields.forEach((f, i) => {
      const cell = r.record[i];
      if (f !== null && cell !== undefined && cell !== '') raw[f] = cell;
    });
    rows.push({ where: `line ${line}`, raw });
  }
  return { rows, problems, ignoredColumns: ignored };
}

/** YAML keys per computer (camelCase as in the API, plus the singular `mac`). */
const YAML_KEYS: Record<string, Field> = {
  name: 'name', mac: 'macs', macs: 'macs', guid: 'guid', smbiosGuid: 'guid', profile: 'profile',
  kind: 'kind', notes: 'notes', sourceComputer: 'sourceComputer',
};

export function parseComputersYaml(text: string): ParsedFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const lineOf = (n: Node | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : '?');
  if (doc.errors.length > 0) {
    return { rows: [], problems: doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`), ignoredColumns: [] };
  }
  let list: Node | null = doc.contents as Node | null;
  if (isMap(list)) {
    const keys = list.items.map((p) => String((p.key as { value?: unknown } | null)?.value));
    if (keys.length !== 1 || keys[0] !== 'computers') {
      return { rows: [], problems: [`line ${lineOf(list)}: expected a list of computers or a mapping with the one key "computers"`], ignoredColumns: [] };
    }
    list = list.items[0]?.value as Node | null;
  }
  if (!isSeq(list)) return { rows: [], problems: [`line ${lineOf(list)}: expected a list of computers`], ignoredColumns: [] };
  if (list.items.length > IMPORT_ROWS_MAX) return { rows: [], problems: [`${list.items.length} computers in one file, at most ${IMPORT_ROWS_MAX}`], ignoredColumns: [] };
  const rows: ParsedRow[] = [];
  const problems: string[] = [];
  list.items.forEach((item, i) => {
    const where = `item ${i + 1} (line ${lineOf(item as Node)})`;
    if (!isMap(item)) { problems.push(`${where}: expected a mapping with name, macs, guid, profile`); return; }
    const raw: RawComputer = {};
    for (const pair of item.items) {
      const key = String((pair.key as { value?: unknown } | null)?.value);
      const field = YAML_KEYS[key];
      if (!field) { problems.push(`${where}: unknown key ${JSON.stringify(key)} (known: ${Object.keys(YAML_KEYS).join(', ')})`); continue; }
      raw[field] = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
    }
    rows.push({ where, raw });
  });
  return { rows, problems, ignoredColumns: [] };
}

export function parseComputers(text: string, format: ImportFormat): ParsedFile {
  return format === 'csv' ? parseComputersCsv(text) : parseComputersYaml(text);
}
