/**
 * config/grafana-dashboard.json: it parses, its layout is sound, it covers what an operator needs, every
 * metric it queries is in the catalogue (createMetrics + process metrics + lazily registered ones) with
 * the labels it selects and groups by, and every query is valid PromQL (promtool parses them as
 * recording rules, with Grafana's variables replaced).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { groupingLabels, metricCatalogue, metricsIn, REPO, selectorLabels, seriesIndex, TARGET_LABELS } from './helpers/ops-catalogue.js';

interface Target { refId: string; expr: string; datasource?: { uid?: string } }
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}

const dashboard = JSON.parse(readFileSync(join(REPO, 'config/grafana-dashboard.json'), 'utf8')) as Dashboard;

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}
const panels = allPanels(dashboard.panels);
const queryPanels = panels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

test('dashboard: unique panel ids, panels inside the 24-column grid, no overlaps', () => {
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids must be unique');
  const cells = new Map<string, string>();
  for (const p of panels) {
    const g = p.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title}: gridPos ${JSON.stringify(g)} outside 24 columns`);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        const other = cells.get(`${x},${y}`);
        assert.equal(other, undefined, `${p.title} overlaps ${other ?? ''} at ${x},${y}`);
        cells.set(`${x},${y}`, p.title);
      }
    }
  }
});

test('dashboard: every query panel uses the ${datasource} variable and has at least one query', () => {
  assert.equal(dashboard.uid, 'bootgate');
  const vars = dashboard.templating.list.map((v) => v.name);
  assert.deepEqual(vars, ['datasource', 'instance']);
  for (const p of queryPanels) {
    assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: datasource`);
    assert.ok((p.targets ?? []).length > 0, `${p.title}: no query`);
    for (const t of p.targets ?? []) {
      assert.equal(t.datasource?.uid, '${datasource}', `${p.title} ${t.refId}: datasource`);
      assert.match(t.expr, /instance=~"\$instance"/, `${p.title} ${t.refId}: not filtered by $instance`);
    }
  }
});

test('dashboard: has the panels an operator needs', () => {
  // [what, a panel title pattern, a metric one of its queries must use]
  const wanted: Array<[RegExp, string]> = [
    [/DHCP packets by result/, 'bootgate_dhcp_packets_total'],
    [/Decisions by reason/, 'bootgate_decisions_total'],
    [/TFTP throughput/, 'bootgate_tftp_bytes_total'],
    [/TFTP active sessions/, 'bootgate_tftp_active_sessions'],
    [/TFTP retransmits/, 'bootgate_tftp_retransmits_total'],
    [/TFTP failure ratio/, 'bootgate_tftp_transfers_total'],
    [/HTTP transfers/, 'bootgate_http_transfers_total'],
    [/Pending devices/, 'bootgate_pending_devices'],
    [/Oldest pending device/, 'bootgate_pending_oldest_age_seconds'],
    [/Password attempts/, 'bootgate_password_attempts_total'],
    [/Password lockouts/, 'bootgate_password_lockouts_total'],
    [/Config reloads/, 'bootgate_config_reloads_total'],
  ];
  for (const [title, metric] of wanted) {
    const p = queryPanels.find((q) => title.test(q.title));
    assert.ok(p, `no panel titled ${title}`);
    assert.ok((p.targets ?? []).some((t) => metricsIn(t.expr).includes(metric)), `${p.title} does not query ${metric}`);
  }
});

test('dashboard: every metric queried is in the catalogue, with the labels the query uses', async () => {
  const cat = await metricCatalogue();
  const idx = seriesIndex(cat);
  assert.ok(exprs.length >= 20, `only ${exprs.length} queries`);
  for (const { panel, expr } of exprs) {
    const names = metricsIn(expr);
    assert.ok(names.length > 0, `${panel}: no bootgate metric in ${expr}`);
    for (const name of names) assert.ok(idx.has(name), `${panel}: ${name} is not in the metric catalogue`);
    for (const { metric, labels } of selectorLabels(expr)) {
      const entry = idx.get(metric);
      assert.ok(entry, `${panel}: selector on unknown metric ${metric}`);
      for (const l of labels) {
        assert.ok(entry.labels.has(l) || TARGET_LABELS.has(l), `${panel}: ${metric} has no label "${l}" (has ${[...entry.labels].join(', ') || 'none'})`);
      }
    }
    const known = new Set([...TARGET_LABELS, ...names.flatMap((n) => [...(idx.get(n)?.labels ?? [])])]);
    if (names.some((n) => n.endsWith('_bucket'))) known.add('le');
    for (const l of groupingLabels(expr)) assert.ok(known.has(l), `${panel}: groups by "${l}", which none of ${names.join(', ')} has`);
  }
});

test('dashboard: every query is valid PromQL (promtool check rules)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgops-dash-'));
  try {
    // Grafana substitutes these before Prometheus sees the query.
    const promql = (e: string) => e.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '6h').replaceAll('$instance', '.*');
    const rules = exprs.map((e, i) => ({ record: `bootgate:dashboard_query_${i}`, expr: promql(e.expr) }));
    const file = join(dir, 'dashboard-queries.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
    assert.match(out, new RegExp(`SUCCESS: ${rules.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
