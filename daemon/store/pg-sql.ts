/**
 * SQLite spellings in the repositories' statements, rewritten for PostgreSQL once per prepared
 * statement: `?` and `@name` parameters become `$n`; `INSERT OR IGNORE` becomes `ON CONFLICT DO
 * NOTHING`; the two-argument scalar `MAX(a, b)` becomes `GREATEST(a, b)`; an INSERT into a table
 * with a generated `id` returns it (better-sqlite3's lastInsertRowid). Quoted literals are left alone.
 */
export interface PgStatementText {
  text: string;
  /** Parameter names in `$n` order when the statement uses `@name`; null for positional `?`. */
  names: string[] | null;
  /** How many positional `?` parameters it has. */
  positional: number;
  /** The statement returns the generated id. */
  returnsId: boolean;
}

/** Tables whose rows get a generated `id` (an INSERT returns it). */
const ID_TABLES = ['computers', 'audit_events', 'rollout_results', 'rollout_halts'];

export function toPostgres(sql: string): PgStatementText {
  let text = sql;
  let orIgnore = false;
  if (/^\s*INSERT\s+OR\s+IGNORE\s+INTO\b/i.test(text)) {
    text = text.replace(/^\s*INSERT\s+OR\s+IGNORE\s+INTO\b/i, 'INSERT INTO');
    orIgnore = true;
  }
  text = text.replace(/\bMAX\(\s*([^(),]+?)\s*,\s*([^(),]+?)\s*\)/gi, 'GREATEST($1, $2)');
  const names: string[] = [];
  let positional = 0;
  let out = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (ch === "'") { quoted = !quoted; out += ch; continue; }
    if (quoted) { out += ch; continue; }
    if (ch === '?') { positional += 1; out += `$${positional}`; continue; }
    if (ch === '@') {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
      if (m) {
        let at = names.indexOf(m[0]);
        if (at < 0) { names.push(m[0]); at = names.length - 1; }
        out += `$${at + 1}`;
        i += m[0].length;
        continue;
      }
    }
    out += ch;
  }
  text = out.trimEnd();
  if (orIgnore) text += ' ON CONFLICT DO NOTHING';
  const table = /^\s*INSERT\s+INTO\s+([a-z_]+)/i.exec(text)?.[1]?.toLowerCase();
  const returnsId = table !== undefined && ID_TABLES.includes(table) && !/\bRETURNING\b/i.test(text);
  if (returnsId) text += ' RETURNING id';
  return { text, names: names.length > 0 ? names : null, positional, returnsId };
}

/** The values for `$1..$n`: positional arguments as given, or the named ones picked from one object. */
export function bindValues(stmt: PgStatementText, params: unknown[]): unknown[] {
  // A statement without parameters called with an (empty) object of named ones, as one built with optional filters is.
  if (stmt.names === null && stmt.positional === 0 && params.length === 1 && isRecord(params[0])) return [];
  if (stmt.names === null) return params.map(normalise);
  const obj = (params[0] ?? {}) as Record<string, unknown>;
  return stmt.names.map((n) => normalise(obj[n]));
}

function isRecord(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function normalise(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}
