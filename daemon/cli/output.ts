/**
 * Human-readable output helpers shared by every command (`--json` prints the API's JSON instead).
 */

/** Left-aligned columns, two spaces apart; `-` for empty cells. */
export function table(head: string[], rows: string[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === '' ? '-' : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

/** An ISO 8601 time as `2025-01-31 12:00:00Z`; empty for none. */
export const shortTime = (iso: string | null): string => (iso === null ? '' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
