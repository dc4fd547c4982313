/**
 * Known computers: name, MACs (one row each in computer_macs), SMBIOS GUID, profile, deployment kind,
 * notes, boot-once state. SQL only; validation lives in daemon/features/inventory.
 */
import type { SqlDb } from './sql.js';
import type { DeploymentKind } from '../config/schema.js';

export interface ComputerInput {
  name: string;
  /** Canonical MACs (policy/identity.ts normalizeMac), first = primary. */
  macs: string[];
  /** Canonical GUID as the admin wrote it (either byte order). */
  guid: string | null;
  profile: string;
  kind: DeploymentKind | null;
  notes: string;
  sourceComputer: string | null;
}

export interface ComputerRecord extends ComputerInput {
  id: number;
  bootOnceConsumedAt: number | null;
  /** What consumed it: `marker:<path>` or `api:<actor>`. */
  bootOnceConsumedBy: string | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: number;
  name: string;
  guid: string | null;
  profile: string;
  kind: DeploymentKind | null;
  notes: string;
  source_computer: string | null;
  boot_once_consumed_at: number | null;
  boot_once_consumed_by: string | null;
  created_at: number;
  updated_at: number;
}

function fromRow(r: Row, macs: string[]): ComputerRecord {
  return {
    id: r.id,
    name: r.name,
    macs,
    guid: r.guid,
    profile: r.profile,
    kind: r.kind,
    notes: r.notes,
    sourceComputer: r.source_computer,
    bootOnceConsumedAt: r.boot_once_consumed_at,
    bootOnceConsumedBy: r.boot_once_consumed_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Every computer from the rows of `SELECT * FROM computers ORDER BY name` and of computer_macs by position. */
export function computersFromRows(rows: readonly unknown[], macRows: ReadonlyArray<{ computer_id: number; mac: string }>): ComputerRecord[] {
  const macs = new Map<number, string[]>();
  for (const r of macRows) {
    const list = macs.get(r.computer_id);
    if (list) list.push(r.mac);
    else macs.set(r.computer_id, [r.mac]);
  }
  return (rows as Row[]).map((r) => fromRow(r, macs.get(r.id) ?? []));
}

export class ComputersRepo {
  private readonly s;

  constructor(private readonly db: SqlDb) {
    this.s = {
      all: db.prepare('SELECT * FROM computers ORDER BY name'),
      allMacs: db.prepare('SELECT computer_id, mac FROM computer_macs ORDER BY computer_id, position'),
      byId: db.prepare('SELECT * FROM computers WHERE id = ?'),
      byName: db.prepare('SELECT * FROM computers WHERE name = ?'),
      byGuid: db.prepare('SELECT * FROM computers WHERE guid = ?'),
      idByMac: db.prepare('SELECT computer_id AS id FROM computer_macs WHERE mac = ?'),
      macsOf: db.prepare('SELECT mac FROM computer_macs WHERE computer_id = ? ORDER BY position'),
      insert: db.prepare(`INSERT INTO computers (name, guid, profile, kind, notes, source_computer, created_at, updated_at)
        VALUES (@name, @guid, @profile, @kind, @notes, @sourceComputer, @now, @now)`),
      update: db.prepare(`UPDATE computers SET name = @name, guid = @guid, profile = @profile, kind = @kind, notes = @notes,
        source_computer = @sourceComputer, updated_at = @now WHERE id = @id`),
      insertMac: db.prepare('INSERT INTO computer_macs (mac, computer_id, position) VALUES (?, ?, ?)'),
      deleteMacs: db.prepare('DELETE FROM computer_macs WHERE computer_id = ?'),
      delete: db.prepare('DELETE FROM computers WHERE id = ?'),
      bootOnce: db.prepare('UPDATE computers SET boot_once_consumed_at = ?, boot_once_consumed_by = ?, updated_at = ? WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM computers'),
    };
  }

  all(): ComputerRecord[] {
    return computersFromRows(this.s.all.all(), this.s.allMacs.all() as Array<{ computer_id: number; mac: string }>);
  }

  private withMacs(r: Row | undefined): ComputerRecord | undefined {
    if (!r) return undefined;
    return fromRow(r, (this.s.macsOf.all(r.id) as Array<{ mac: string }>).map((m) => m.mac));
  }

  byId(id: number): ComputerRecord | undefined {
    return this.withMacs(this.s.byId.get(id) as Row | undefined);
  }

  /** Case-insensitive, as Windows computer names are. */
  byName(name: string): ComputerRecord | undefined {
    return this.withMacs(this.s.byName.get(name) as Row | undefined);
  }

  byMac(mac: string): ComputerRecord | undefined {
    const hit = this.s.idByMac.get(mac) as { id: number } | undefined;
    return hit ? this.byId(hit.id) : undefined;
  }

  byGuid(guid: string): ComputerRecord | undefined {
    return this.withMacs(this.s.byGuid.get(guid) as Row | undefined);
  }

  /** Call inside a transaction: the computer row and its MAC rows go in together. */
  insert(input: ComputerInput, now: number): number {
    const id = Number(this.s.insert.run({ ...input, now }).lastInsertRowid);
    input.macs.forEach((mac, i) => this.s.insertMac.run(mac, id, i));
    return id;
  }

  /** Replaces every field and the MAC list; boot-once state is kept. Call inside a transaction. */
  update(id: number, input: ComputerInput, now: number): void {
    this.s.update.run({ ...input, now, id });
    this.s.deleteMacs.run(id);
    input.macs.forEach((mac, i) => this.s.insertMac.run(mac, id, i));
  }

  /** Drops a computer's MAC rows (before an import moves its MACs elsewhere). Call inside a transaction. */
  releaseMacs(id: number): void {
    this.s.deleteMacs.run(id);
  }

  delete(id: number): boolean {
    return this.s.delete.run(id).changes > 0;
  }

  /** Marks the required deployment consumed (`at` set) or clears it (`at` null). */
  setBootOnce(id: number, at: number | null, by: string | null, now: number): boolean {
    return this.s.bootOnce.run(at, by, now, id).changes > 0;
  }

  count(): number {
    return (this.s.count.get() as { n: number }).n;
  }
}
