/**
 * config/prometheus-rules.yaml: promtool accepts it, promtool's own rule unit tests
 * (deploy/prometheus-rules.test.yaml) pass, it has the alerts an operator needs, and every metric and
 * label its expressions use is in the catalogue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { groupingLabels, metricCatalogue, metricsIn, REPO, selectorLabels, seriesIndex, TARGET_LABELS } from './helpers/ops-catalogue.js';

const RULES = join(REPO, 'config/prometheus-rules.yaml');
const RULE_TESTS = join(REPO, 'deploy/prometheus-rules.test.yaml');

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const doc = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
const rules = doc.groups.flatMap((g) => g.rules);

function promtool(args: string[]): string {
  return execFileSync('promtool', args, { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
}

test('rules: promtool check rules accepts the file', () => {
  assert.match(promtool(['check', 'rules', RULES]), new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test('rules: promtool test rules (each alert fires where it should, and only there)', () => {
  assert.match(promtool(['test', 'rules', RULE_TESTS]), /SUCCESS/);
});

test('rules: the alerts an operator needs exist, each with severity, summary and description', () => {
  const names = rules.map((r) => r.alert);
  for (const want of ['BootgatePxeUnanswered', 'BootgateTftpFailureRatio', 'BootgatePendingDeviceWaiting', 'BootgateNotReady', 'BootgateDown']) {
    assert.ok(names.includes(want), `missing alert ${want}`);
  }
  for (const r of rules) {
    assert.ok(r.alert, `only alerting rules here: ${JSON.stringify(r)}`);
    assert.match(r.labels?.severity ?? '', /^(critical|warning)$/, `${r.alert}: severity`);
    assert.ok(r.annotations?.summary && r.annotations.description, `${r.alert}: summary and description`);
  }
  // The thresholds the issue states, read from the expressions themselves.
  const expr = (name: string) => rules.find((r) => r.alert === name)?.expr ?? '';
  assert.match(expr('BootgatePxeUnanswered'), /\[10m\]/);
  assert.match(expr('BootgateTftpFailureRatio'), /> 0\.05/);
  assert.match(expr('BootgatePendingDeviceWaiting'), /> 3600/);
  assert.match(expr('BootgateNotReady'), /bootgate_ready == 0/);
});

test('rules: every metric and label an expression uses is in the catalogue', async () => {
  const idx = seriesIndex(await metricCatalogue());
  const labelsOf = (m: string): Set<string> | undefined => (m === 'up' ? new Set<string>() : idx.get(m)?.labels);
  for (const r of rules) {
    const names = metricsIn(r.expr);
    assert.ok(names.length > 0, `${r.alert}: no metric`);
    for (const n of names) assert.ok(labelsOf(n), `${r.alert}: ${n} is not in the metric catalogue`);
    for (const { metric, labels } of selectorLabels(r.expr)) {
      const have = labelsOf(metric) ?? new Set<string>();
      for (const l of labels) assert.ok(have.has(l) || TARGET_LABELS.has(l), `${r.alert}: ${metric} has no label "${l}"`);
    }
    const known = new Set([...TARGET_LABELS, ...names.flatMap((n) => [...(labelsOf(n) ?? [])])]);
    for (const l of groupingLabels(r.expr)) assert.ok(known.has(l), `${r.alert}: groups by "${l}", which none of ${names.join(', ')} has`);
  }
});
