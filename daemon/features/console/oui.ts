/**
 * The vendor of a MAC address from the IEEE's registry of 24-bit prefixes (MA-L), as Debian's
 * `ieee-data` package installs it (/usr/share/ieee-data/oui.csv: `Registry,Assignment,Organization
 * Name,Organization Address`, RFC 4180 quoting). Read once, when first wanted, from `admin.ouiFile`;
 * no file (or an unreadable one) means no vendor for anyone, never an error. A row that is not an MA-L
 * assignment of six hex digits with a name is skipped, whatever else it holds.
 *
 * Reading the 32,000 rows costs about a quarter of a second of CPU: it is read asynchronously and parsed
 * in slices with the event loop free in between, so the DHCP doors never wait for it.
 */
import { readFile, stat } from 'node:fs/promises';
import { setImmediate as turn } from 'node:timers/promises';
import type { Logger } from '../../log.js';

/** The registry is about 3 MB; anything far larger is not it. */
export const OUI_FILE_MAX_BYTES = 32 * 1024 * 1024;
/** A vendor name longer than this is cut (the registry's longest is about 100). */
const NAME_MAX = 120;

/** The fields of each CSV record (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks). */
export function* csvRecords(text: string): Generator<string[]> {
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') { field += '"'; i++; }
      else quoted = false;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') { fields.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      yield fields;
      fields = [];
      field = '';
    } else field += ch;
  }
  // The last record without a line break; an unterminated quote ends with the text.
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    yield fields;
  }
}

/** Records parsed between two turns of the event loop. */
const SLICE = 500;

function addRecord(out: Map<string, string>, [registry, assignment, name]: string[]): void {
  if (registry?.trim() !== 'MA-L' || assignment === undefined || name === undefined) return;
  const prefix = assignment.trim().toUpperCase();
  if (!/^[0-9A-F]{6}$/.test(prefix)) return;
  // Printable text only: the page shows it through textContent, the CSV export quotes it, but a
  // control character has no business in a vendor name.
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, NAME_MAX);
  if (clean !== '' && !out.has(prefix)) out.set(prefix, clean);
}

/** MA-L prefix (six upper-case hex digits) -> organisation name. */
export function parseOui(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of csvRecords(text)) addRecord(out, r);
  return out;
}

/** parseOui in slices, yielding to the event loop between them. */
export async function parseOuiSliced(text: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let n = 0;
  for (const r of csvRecords(text)) {
    addRecord(out, r);
    if (++n % SLICE === 0) await turn();
  }
  return out;
}

export class OuiVendors {
  private table = new Map<string, string>();
  private loading: Promise<void> | null = null;
  /** Bumped by reset(): a read started before it does not put its table in. */
  private generation = 0;

  constructor(private readonly file: () => string | null, private readonly logger?: Logger) {}

  /** Resolves once the registry is read (the first call starts reading it); never rejects. */
  loaded(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  /** The vendor of `mac` (aa:bb:cc:..), or null: unknown prefix, no registry (or not read yet), or a locally administered (random) address. */
  vendorOf(mac: string): string | null {
    const hex = mac.replace(/[^0-9A-Fa-f]/g, '').toUpperCase();
    if (hex.length < 6) return null;
    // The U/L bit: a locally administered address (randomised MACs, VMs' own schemes) has no IEEE owner.
    if ((parseInt(hex.slice(0, 2), 16) & 0x02) !== 0) return null;
    return this.table.get(hex.slice(0, 6)) ?? null;
  }

  private async load(): Promise<void> {
    const path = this.file();
    const generation = this.generation;
    if (path === null) return;
    try {
      const size = (await stat(path)).size;
      if (size > OUI_FILE_MAX_BYTES) {
        this.logger?.warn({ file: path, bytes: size }, 'OUI registry file too large; no vendor names');
        return;
      }
      const table = await parseOuiSliced(await readFile(path, 'utf8'));
      if (generation !== this.generation) return;
      this.table = table;
      this.logger?.info({ file: path, prefixes: table.size }, 'OUI registry read (vendor names)');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.logger?.warn({ file: path, err: (err as Error).message }, 'OUI registry not readable; no vendor names');
    }
  }

  /** Forget the table (the path may have changed on reload): read again when next wanted. */
  reset(): void {
    this.generation += 1;
    this.loading = null;
    this.table = new Map();
  }
}
