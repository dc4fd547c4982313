/**
 * The metric catalogue the operations files (Grafana dashboard, Prometheus rules) are checked against:
 * what `createMetrics()` registers, the process metrics `collectProcessMetrics()` adds (prefix
 * bootgate_), and metrics other modules register lazily on the same registry (daemon/store registers
 * bootgate_pending_devices that way), found in daemon/ by their `new Gauge({ name: 'bootgate_...' })`.
 * Also: reading metric names and label names out of PromQL, enough for our expressions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { collectProcessMetrics, createMetrics } from '../../../daemon/metrics.js';

/** The repository root (this file runs as dist/test/unit/helpers/ops-catalogue.js). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface CatalogueEntry {
  name: string;
  type: string;
  labels: Set<string>;
  /** createMetrics, process, or the source file that registers it. */
  source: string;
}

/** Labels every scraped series carries from its target (Prometheus adds them). */
export const TARGET_LABELS = new Set(['job', 'instance']);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return walk(p);
    return d.isFile() && d.name.endsWith('.ts') ? [p] : [];
  });
}

/** Metrics constructed outside createMetrics(): `new Counter|Gauge|Histogram|Summary({ name: 'bootgate_...', ... })`. */
function registeredElsewhere(): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  for (const file of walk(join(REPO, 'daemon'))) {
    if (file.endsWith(join('daemon', 'metrics.ts'))) continue;
    const text = readFileSync(file, 'utf8');
    const re = /new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{\s*name:\s*'(bootgate_[a-z0-9_]+)'/g;
    for (const m of text.matchAll(re)) {
      const body = text.slice(m.index, text.indexOf('})', m.index));
      // `labelNames: [...]` inline, or the shorthand `labelNames,` for a `const labelNames = [...]` of the file.
      const inline = /labelNames:\s*\[([^\]]*)\]/.exec(body)?.[1];
      const shared = /\blabelNames\s*[,}\n]/.test(body) ? /const\s+labelNames\s*=\s*\[([^\]]*)\]/.exec(text)?.[1] : undefined;
      const labelList = inline ?? shared ?? '';
      const labels = new Set([...labelList.matchAll(/'([^']+)'/g)].map((l) => l[1] as string));
      out.push({ name: m[2] as string, type: (m[1] as string).toLowerCase(), labels, source: relative(REPO, file) });
    }
  }
  return out;
}

export async function metricCatalogue(): Promise<Map<string, CatalogueEntry>> {
  const cat = new Map<string, CatalogueEntry>();
  const own = createMetrics(new Registry());
  for (const metric of await own.registry.getMetricsAsJSON()) {
    const labels = (own.registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    cat.set(metric.name, { name: metric.name, type: String(metric.type), labels: new Set(labels), source: 'createMetrics' });
  }
  const proc = new Registry();
  collectProcessMetrics(proc);
  for (const metric of await proc.getMetricsAsJSON()) {
    const labels = new Set(metric.values.flatMap((v) => Object.keys(v.labels)));
    cat.set(metric.name, { name: metric.name, type: String(metric.type), labels, source: 'process' });
  }
  for (const e of registeredElsewhere()) if (!cat.has(e.name)) cat.set(e.name, e);
  return cat;
}

/** Series names a metric exposes: histograms as _bucket/_sum/_count, summaries also bare. */
export function seriesNames(e: CatalogueEntry): string[] {
  if (e.type === 'histogram') return [`${e.name}_bucket`, `${e.name}_sum`, `${e.name}_count`];
  if (e.type === 'summary') return [e.name, `${e.name}_sum`, `${e.name}_count`];
  return [e.name];
}

/** Series name -> the catalogue entry it belongs to. */
export function seriesIndex(cat: Map<string, CatalogueEntry>): Map<string, CatalogueEntry> {
  const idx = new Map<string, CatalogueEntry>();
  for (const e of cat.values()) for (const s of seriesNames(e)) idx.set(s, e);
  return idx;
}

/** Strips quoted strings so label values and legends are not read as names. */
function unquoted(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

/** Metric names a PromQL expression selects: every bootgate_* identifier, and `up`. */
export function metricsIn(expr: string): string[] {
  const names = [...unquoted(expr).matchAll(/\b(bootgate_[a-z0-9_]+|up)\b(?!\s*\()/g)].map((m) => m[1] as string);
  return [...new Set(names)];
}

/** Label names used in each metric's selector: `name{a="x", b=~"y"}` -> name: [a, b]. */
export function selectorLabels(expr: string): Array<{ metric: string; labels: string[] }> {
  const out: Array<{ metric: string; labels: string[] }> = [];
  for (const m of expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*\{([^}]*)\}/g)) {
    const labels = [...(m[2] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] as string);
    out.push({ metric: m[1] as string, labels });
  }
  return out;
}

/** Label names in `by (...)` / `on (...)` / `without (...)` / `ignoring (...)` clauses. */
export function groupingLabels(expr: string): string[] {
  const out: string[] = [];
  for (const m of unquoted(expr).matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)) {
    out.push(...(m[1] as string).split(',').map((s) => s.trim()).filter((s) => s !== ''));
  }
  return [...new Set(out)];
}
