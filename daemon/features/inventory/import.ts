/**
 * Importing many computers at once, all or nothing: every row is checked (values, duplicates inside
 * the file, clashes with the inventory) before anything is written, every problem is reported with
 * its line, and the writes happen in one transaction, so a crash or a bad row never leaves half an import.
 */
import type { BootgateConfig } from '../../config/schema.js';
import { swapGuid } from '../../policy/identity.js';
import { auditEvent } from '../../store/audit.js';
import type { ComputerInput } from '../../store/computers.js';
import type { Store } from '../../store/db.js';
import type { ImportResult } from './dto.js';
import type { ParsedFile } from './parse.js';
import { checkComputer } from './validate.js';

export interface ImportOptions {
  /** Replace computers whose name already exists instead of reporting them. */
  update?: boolean;
  /** Profile for rows that name none (a supplier's sheet rarely knows the profiles). */
  defaultProfile?: string | null;
  /** Called every `progressEvery` computers written, inside the transaction (crash tests use it). */
  onProgress?: (written: number) => void;
  progressEvery?: number;
  /** One computer edited through the API (PUT): the row replaces this computer, whatever its new name. */
  replaceId?: number;
  /** The audit event's text instead of the import summary (single-computer changes). */
  auditDetail?: string;
}

interface PlannedRow {
  where: string;
  input: ComputerInput;
  /** Row id of the computer this replaces (update mode), else null. */
  replaces: number | null;
  /** The computer already holding this name: its own MACs are no clash (the name clash is reported once). */
  sameAs: number | null;
}

/** Problems reported at most; the rest are counted, so a wrong file gives a readable answer. */
export const PROBLEMS_MAX = 200;

export function capProblems(problems: string[]): string[] {
  if (problems.length <= PROBLEMS_MAX) return problems;
  return [...problems.slice(0, PROBLEMS_MAX), `... and ${problems.length - PROBLEMS_MAX} more problems`];
}

/** Clashes inside the file: the first row keeps the value, later rows are reported against it. */
class FileIndex {
  private readonly names = new Map<string, string>();
  private readonly macs = new Map<string, string>();
  private readonly guids = new Map<string, string>();

  claim(where: string, c: ComputerInput, problems: string[]): void {
    const key = c.name.toLowerCase();
    const n = this.names.get(key);
    if (n) problems.push(`${where}: name ${JSON.stringify(c.name)} is also on ${n}`);
    else if (key !== '') this.names.set(key, where);
    for (const mac of c.macs) {
      const m = this.macs.get(mac);
      if (m) problems.push(`${where}: MAC ${mac} is also on ${m}`);
      else this.macs.set(mac, where);
    }
    if (c.guid !== null) {
      const g = this.guids.get(c.guid) ?? this.guids.get(swapGuid(c.guid));
      if (g) problems.push(`${where}: SMBIOS GUID ${c.guid} is also on ${g} (GUIDs match in either byte order)`);
      else this.guids.set(c.guid, where);
    }
  }
}

/**
 * Clashes with the inventory. A MAC or GUID owned by a computer this same import replaces is not a
 * clash (the file moves it); duplicates inside the file were reported by FileIndex.
 */
function inventoryClashes(store: Store, where: string, c: ComputerInput, replacing: ReadonlySet<number>, self: number | null, problems: string[]): void {
  const owned = (id: number) => id !== self && !replacing.has(id);
  for (const mac of c.macs) {
    const owner = store.computers.byMac(mac);
    if (owner && owned(owner.id)) problems.push(`${where}: MAC ${mac} already belongs to computer ${JSON.stringify(owner.name)}`);
  }
  if (c.guid !== null) {
    const owner = store.computers.byGuid(c.guid) ?? store.computers.byGuid(swapGuid(c.guid));
    if (owner && owned(owner.id)) problems.push(`${where}: SMBIOS GUID ${c.guid} already belongs to computer ${JSON.stringify(owner.name)}`);
  }
}

/** Problems in file order (a stable sort on the `line N` / `item N` prefix), file-level ones first. */
function byPosition(problems: string[]): string[] {
  const pos = (p: string) => Number(/^(?:line|item) (\d+)/.exec(p)?.[1] ?? 0);
  return problems.map((p, i) => ({ p, i, n: pos(p) })).sort((a, b) => a.n - b.n || a.i - b.i).map((x) => x.p);
}

export function planImport(store: Store, cfg: BootgateConfig, parsed: ParsedFile, opts: ImportOptions): { plan: PlannedRow[]; problems: string[] } {
  const problems = [...parsed.problems];
  const checked: PlannedRow[] = [];
  const broken: PlannedRow[] = [];
  const file = new FileIndex();
  for (const row of parsed.rows) {
    const raw = row.raw.profile === undefined && opts.defaultProfile ? { ...row.raw, profile: opts.defaultProfile } : row.raw;
    const c = checkComputer(raw, cfg.profiles);
    if (!c.ok) for (const p of c.problems) problems.push(`${row.where}: ${p}`);
    const value = c.ok ? c.value : c.partial;
    file.claim(row.where, value, problems);
    const existing = value.name === '' ? undefined : store.computers.byName(value.name);
    if (existing && opts.replaceId !== undefined && existing.id !== opts.replaceId) {
      problems.push(`${row.where}: computer ${JSON.stringify(existing.name)} already exists`);
    } else if (existing && !opts.update && opts.replaceId === undefined) {
      problems.push(`${row.where}: computer ${JSON.stringify(existing.name)} already exists (import with update to replace it)`);
    }
    (c.ok ? checked : broken).push({
      where: row.where, input: value, replaces: opts.replaceId ?? (opts.update ? existing?.id : undefined) ?? null, sameAs: opts.replaceId ?? existing?.id ?? null,
    });
  }
  if (parsed.rows.length === 0 && problems.length === 0) problems.push('the file lists no computers');
  const all = [...checked, ...broken];
  const replacing = new Set(all.flatMap((r) => (r.replaces === null ? [] : [r.replaces])));
  for (const r of all) inventoryClashes(store, r.where, r.input, replacing, r.sameAs, problems);
  return { plan: checked, problems: byPosition(problems) };
}

/**
 * Writes a checked plan in one durable transaction. When `update` moves a MAC between two computers of
 * the same file, the old owner's MAC rows are released first so the unique MAC index never trips.
 */
export function applyImport(store: Store, plan: PlannedRow[], now: number, actor: string, opts: ImportOptions): ImportResult {
  const every = Math.max(1, opts.progressEvery ?? 1000);
  const result = store.durable(() => {
    let created = 0;
    let updated = 0;
    for (const r of plan) {
      if (r.replaces !== null) store.computers.releaseMacs(r.replaces);
    }
    for (const r of plan) {
      if (r.replaces !== null) { store.computers.update(r.replaces, r.input, now); updated += 1; }
      else { store.computers.insert(r.input, now); created += 1; }
      // A device that waited for approval (or was rejected) is now known.
      for (const mac of r.input.macs) store.devices.delete(mac);
      if ((created + updated) % every === 0) opts.onProgress?.(created + updated);
    }
    const one = plan.length === 1 ? plan[0]?.input : undefined;
    store.audit.insert(auditEvent({
      at: now, type: 'admin', actor, detail: opts.auditDetail ?? `import: ${created} created, ${updated} updated`,
      computer: one?.name ?? null, mac: one?.macs[0] ?? null, profile: one?.profile ?? null,
    }));
    return { created, updated };
  });
  store.notify('inventory');
  store.notify('devices');
  return { ...result, ignoredColumns: [] };
}
