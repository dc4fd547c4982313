/** Every metric the running daemon registers, with type, labels and help: the README catalogue is generated from this. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../daemon/config/load.js';
import { createLogger } from '../../../daemon/log.js';
import { startDaemon } from '../../../daemon/main.js';

export interface MetricRow { name: string; type: string; labels: string[]; help: string }

export async function daemonMetricCatalogue(): Promise<MetricRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'bg-cat-'));
  const config = validateConfig({
    root,
    server: { bindAddress: '127.0.0.1', dhcpPort: 0, pxePort: 0 },
    tftp: { port: 0, workers: 0 },
    http: { port: 0, address: '127.0.0.1' },
    store: { path: join(root, 'db.sqlite') },
    log: { level: 'silent' },
  }, 'catalogue');
  const d = await startDaemon({ config, logger: createLogger('silent') });
  try {
    const json = await d.metrics.registry.getMetricsAsJSON();
    return json.map((m) => ({
      name: m.name,
      type: String(m.type),
      labels: [...((d.metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames ?? [])],
      help: m.help,
    })).sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await d.close();
    rmSync(root, { recursive: true, force: true });
  }
}
