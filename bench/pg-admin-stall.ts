/**
 * Does an admin request on a slow shared store stall the answers? An appliance's store backend and
 * gatekeeper on a throwaway PostgreSQL cluster (test/lab/postgres.ts) reached through a TCP stand-in
 * that holds every answer of the database for DELAY ms (the same one the fleet's fault test uses).
 * About 1,000 decisions a second are made on timer ticks (10 every 10 ms), as the DHCP door makes
 * them on the daemon's thread; one second in, an admin write (a computer added, as an import or an
 * approval does) and an admin read (the computer list) run on that thread as the admin API runs them.
 * The same run with no delay is the anchor, side by side. Printed per run: how long the admin write
 * and read took, the longest gap between two ticks (a DHCP packet arriving then waits that long for
 * its answer: the door, TFTP's negotiation and HTTP all share the thread), ticks more than 100 ms
 * late, and the decisions' own p99.
 *
 * The admin work runs two ways with the slow database, side by side: in place on the daemon's thread (as
 * on SQLite, and as the shared store did before the service host), and through the service host
 * (daemon/features/remote.ts), which the daemon uses on the shared store: its own thread and connection.
 *
 *   node dist/bench/pg-admin-stall.js [DELAY_MS=2000]
 */
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { validateConfig } from '../daemon/config/load.js';
import { Gatekeeper } from '../daemon/boot/gatekeeper.js';
import { createLogger } from '../daemon/log.js';
import { createMetrics } from '../daemon/metrics.js';
import type { ClientInfo } from '../daemon/policy/types.js';
import { inventoryService } from '../daemon/features/inventory/service.js';
import { inPlace, type Remote } from '../daemon/features/feature.js';
import type { InventoryService } from '../daemon/features/inventory/service.js';
import { ServiceHost } from '../daemon/features/remote.js';
import { createStoreBackend } from '../daemon/store/backend.js';
import { openStore } from '../daemon/store/db.js';
import { slowProxy, startPgCluster } from '../test/lab/postgres.js';

const delay = Number(process.argv[2] ?? 2000);
const logger = createLogger('silent');
const cfg = validateConfig({ policy: { unknown: { action: 'pending', profile: 'p' } }, profiles: { p: { bootFiles: { 'efi-x64': 'b.efi' } } } }, 'bench');
const client = (mac: string): ClientInfo => ({ mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient', ip: null, door: 'dhcp' });
const pc = (name: string, mac: string) => ({ name, macs: [mac], guid: null, profile: 'p', kind: null, notes: '', sourceComputer: null });

type Mode = 'in place' | 'service thread';
interface Row { mode: Mode; delayMs: number; writeMs: number; readMs: number; maxGapMs: number; lateTicks: number; ticks: number; decisions: number; p99: number }

async function run(url: string, proxy: Awaited<ReturnType<typeof slowProxy>>, delayMs: number, n: number, mode: Mode): Promise<Row> {
  const store = openStore(url, { serverName: `bench-${n}`, statementTimeoutMs: 60_000 });
  const backend = createStoreBackend(cfg, store, { logger, metrics: createMetrics(new Registry()), link: { pingMs: 1000 } });
  const ctx = { store, config: () => cfg, logger };
  const host = new ServiceHost({ ctx, logger, settled: () => backend.settled() });
  const inventory: Remote<InventoryService> = mode === 'in place' ? inPlace(inventoryService.make(ctx)) : host.remote(inventoryService);
  // The service thread opens its own connection before the database slows down, as a running daemon's has.
  await inventory.listComputers();
  const gate = new Gatekeeper(backend, logger, createMetrics(new Registry()));
  store.durable(() => store.computers.insert(pc(`KNOWN-${n}`, `52:54:00:aa:${n.toString(16).padStart(2, '0')}:01`), Date.now()));
  store.notify('inventory');
  await new Promise((r) => setTimeout(r, 500));
  await proxy.setDelay(delayMs);
  const took: number[] = [];
  let last = performance.now();
  let maxGap = 0;
  let late = 0;
  let ticks = 0;
  let writeMs = 0;
  let readMs = 0;
  let i = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let adminDone = false;
    const tick = setInterval(() => {
      const now = performance.now();
      const gap = now - last;
      last = now;
      ticks += 1;
      if (gap > maxGap) maxGap = gap;
      if (gap > 110) late += 1;
      for (let k = 0; k < 10; k += 1) {
        const s = performance.now();
        gate.decide(client(i % 2 ? `52:54:00:aa:${n.toString(16).padStart(2, '0')}:01` : `52:54:00:ef:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`));
        took.push(performance.now() - s);
        i += 1;
      }
      // Bounded: 2 s after the admin work, or 5 minutes in all.
      if ((adminDone && now - t0 > writeMs + readMs + 3000) || now - t0 > 300_000) { clearInterval(tick); resolve(); }
    }, 10);
    setTimeout(() => void (async () => {
      let s = performance.now();
      await inventory.saveComputer({ name: `ADMIN-${n}`, macs: `52:54:00:bb:${n.toString(16).padStart(2, '0')}:01`, profile: 'p' }, 'bench');
      writeMs = performance.now() - s;
      s = performance.now();
      await inventory.listComputers();
      readMs = performance.now() - s;
      adminDone = true;
    })(), 1000);
  });
  await proxy.setDelay(0);
  host.close();
  backend.close();
  store.close();
  took.sort((a, b) => a - b);
  return { mode, delayMs, writeMs, readMs, maxGapMs: maxGap, lateTicks: late, ticks, decisions: took.length, p99: took[Math.floor(took.length * 0.99)] ?? 0 };
}

const cluster = startPgCluster();
try {
  const u = new URL(cluster.url);
  const proxy = await slowProxy(`${decodeURIComponent(u.searchParams.get('host') ?? '')}/.s.PGSQL.${u.port}`);
  try {
    const url = `postgres://postgres@127.0.0.1:${proxy.port}${u.pathname}?sslmode=disable`;
    const rows = [await run(url, proxy, 0, 1, 'service thread'), await run(url, proxy, delay, 2, 'in place'), await run(url, proxy, delay, 3, 'service thread')];
    console.log('| admin work | database delay | admin write (ms) | admin read (ms) | longest gap between ticks (ms) | ticks > 100 ms late | decisions | decision p99 (ms) |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(`| ${r.mode} | ${r.delayMs} ms | ${r.writeMs.toFixed(0)} | ${r.readMs.toFixed(0)} | ${r.maxGapMs.toFixed(0)} | ${r.lateTicks} of ${r.ticks} | ${r.decisions} | ${r.p99.toFixed(3)} |`);
    }
  } finally {
    await proxy.close();
  }
} finally {
  cluster.destroy();
}
