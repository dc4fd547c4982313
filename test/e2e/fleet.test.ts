/**
 * A fleet of two appliances on two subnets (two labs: their own namespaces, bridge and site DHCP
 * server) sharing one PostgreSQL (a throwaway cluster on a unix socket, reachable from every
 * namespace through the file system, no TCP). A real DHCP client (busybox udhcpc in a namespace on
 * the subnet's bridge, with a PXE vendor class) asks each appliance. An unknown machine is pending on
 * B, approved through A's admin API, and answered `boot` by B within 2 s of the approval. With the
 * database stopped both keep answering the known machine and /readyz says degraded; restarted, the
 * sightings and audit events they journaled arrive in the database. Each appliance's heartbeat row
 * (subnet, readiness, store state) is listed by either one's GET /appliances.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LAB_HTTP_PORT, startBootgate, type Appliance } from '../lab/appliance.js';
import { createLab, type Lab } from '../lab/netns.js';
import { startPgCluster, type PgCluster } from '../lab/postgres.js';
import { runCommandSync } from '../lab/procs.js';

const TOKEN = 'fleet-test-token-0123456789abcdef';
const BOUND_MS = 120_000;
const PXE_VENDOR = 'PXEClient:Arch:00007:UNDI:003016';

interface Site {
  name: string;
  lab: Lab;
  app: Appliance;
  /** The client's namespace on this subnet and its MAC. */
  clientNs: string;
  mac: string;
}

async function sql<T>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

interface DecisionLine { time: number; mac?: string; decision?: string; reason?: string }

function decisions(site: Site, mac: string): DecisionLine[] {
  const out: DecisionLine[] = [];
  for (const line of site.app.log().split('\n')) {
    if (!line.includes(mac)) continue;
    try {
      const l = JSON.parse(line) as Omit<DecisionLine, 'time'> & { time: string | number };
      if (l.mac === mac && l.decision) out.push({ ...l, time: typeof l.time === 'number' ? l.time : Date.parse(l.time) });
    } catch {
      // Not a JSON line.
    }
  }
  return out;
}

describe('fleet: two appliances, two subnets, one PostgreSQL', { timeout: 15 * 60_000 }, () => {
  let cluster: PgCluster | undefined;
  const sites: Site[] = [];
  const namespaces: string[] = [];

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the fleet test needs root (network namespaces)');
    cluster = startPgCluster();
    process.env.BOOTGATE_ADMIN_TOKEN = TOKEN;
    for (const [i, name] of ['appliance-a', 'appliance-b'].entries()) {
      const lab = await createLab({ routerAdverts: false });
      const root = join(lab.dir, 'root');
      mkdirSync(root, { recursive: true });
      for (const f of ['undionly.kpxe', 'ipxe.efi']) writeFileSync(join(root, f), 'boot program stand-in\n');
      const app = await startBootgate(lab, {
        root, ipxeScript: '#!ipxe\nexit\n', scriptTransport: 'http',
        extraConfig: {
          server: { interfaces: [lab.appIface], name },
          store: { url: cluster.url },
          policy: { unknown: { action: 'pending', profile: 'lab' } },
        },
      });
      // The client: a namespace with a veth on the subnet's bridge.
      const clientNs = `${lab.id}-cli`;
      const mac = `02:77:00:00:0${i}:01`;
      namespaces.push(clientNs);
      await lab.run(['ip', 'netns', 'add', clientNs]);
      await lab.run(['ip', '-n', lab.swNs, 'link', 'add', 'p-cli', 'type', 'veth', 'peer', 'name', 'c0', 'netns', clientNs]);
      await lab.run(['ip', '-n', lab.swNs, 'link', 'set', 'p-cli', 'master', 'br0', 'up']);
      await lab.run(['ip', '-n', clientNs, 'link', 'set', 'c0', 'address', mac]);
      await lab.run(['ip', '-n', clientNs, 'link', 'set', 'c0', 'up']);
      sites.push({ name, lab, app, clientNs, mac });
    }
  });

  after(async () => {
    for (const s of sites) {
      await s.app.stop().catch(() => undefined);
      await s.lab.destroy();
    }
    for (const ns of namespaces) runCommandSync(['ip', 'netns', 'del', ns]);
    cluster?.destroy();
    delete process.env.BOOTGATE_ADMIN_TOKEN;
  });

  /** One DHCP exchange of the real client with MAC `mac` on `site`'s subnet (the site server leases, the appliance proxies). */
  async function dhcp(site: Site, mac: string): Promise<void> {
    await site.lab.run(['ip', '-n', site.clientNs, 'link', 'set', 'c0', 'address', mac]);
    await site.lab.run(['busybox', 'udhcpc', '-i', 'c0', '-f', '-q', '-n', '-t', '3', '-T', '1', '-s', '/bin/true', '-V', PXE_VENDOR], site.clientNs, 30_000)
      .catch(() => undefined);
  }

  async function api(site: Site, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const args = ['curl', '-sS', '-m', '10', '-X', method, '-H', `Authorization: Bearer ${TOKEN}`, '-w', '\n%{http_code}'];
    if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data', JSON.stringify(body));
    const r = await site.lab.run([...args, `http://${site.lab.appAddress}:${LAB_HTTP_PORT}${path}`], site.lab.appNs);
    const at = r.stdout.lastIndexOf('\n');
    const text = r.stdout.slice(0, at);
    let json: unknown = text;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: Number(r.stdout.slice(at + 1)), json };
  }

  async function readyz(site: Site): Promise<{ status: number; json: unknown }> {
    const r = await site.lab.run(['curl', '-sS', '-m', '10', '-w', '\n%{http_code}', `http://${site.lab.appAddress}:${LAB_HTTP_PORT}/readyz`], site.lab.appNs);
    const at = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(at + 1)), json: JSON.parse(r.stdout.slice(0, at)) as unknown };
  }

  test('pending on B, approved through A, boots on B within 2 s; the database away and back', async (t) => {
    assert.ok(cluster);
    const [a, b] = sites as [Site, Site];
    const mac = b.mac;
    // Unknown on B: pending, and A's API shows it seen by B.
    const deadline = Date.now() + BOUND_MS;
    while (!decisions(b, mac).some((d) => d.decision === 'pending') && Date.now() < deadline) await dhcp(b, mac);
    assert.ok(decisions(b, mac).some((d) => d.decision === 'pending'), `B records the unknown machine as pending:\n${b.app.log().slice(-3000)}`);
    let listed: Array<{ mac: string; seenBy: string | null }> = [];
    while (Date.now() < deadline) {
      const r = await api(a, 'GET', '/api/v1/pending');
      listed = (r.json as { devices?: Array<{ mac: string; seenBy: string | null }> }).devices ?? (r.json as Array<{ mac: string; seenBy: string | null }>);
      if (Array.isArray(listed) && listed.some((d) => d.mac === mac)) break;
      await new Promise((r2) => setTimeout(r2, 200));
    }
    assert.deepEqual(listed.find((d) => d.mac === mac)?.seenBy, 'appliance-b', `A lists it, seen by B: ${JSON.stringify(listed)}`);

    // Approved through A.
    const approve = await api(a, 'POST', `/api/v1/pending/${mac}/approve`, { name: 'FLEET-PC-1' });
    assert.ok(approve.status < 300, `approve: ${approve.status} ${JSON.stringify(approve.json)}`);
    const approvedAt = Date.now();
    const booted = () => decisions(b, mac).find((d) => d.decision === 'boot' && d.time >= approvedAt);
    while (!booted() && Date.now() < approvedAt + BOUND_MS) await dhcp(b, mac);
    const first = booted();
    assert.ok(first, `B boots the approved machine:\n${b.app.log().slice(-3000)}`);
    t.diagnostic(`B answered boot ${first.time - approvedAt} ms after the approval on A returned`);
    assert.ok(first.time - approvedAt < 2000, `B answered boot ${first.time - approvedAt} ms after the approval on A`);

    // The database stopped: both keep answering the known machine; /readyz says degraded.
    const eventsBefore = Number((await sql<{ n: number }>(cluster.url, 'SELECT COUNT(*)::int AS n FROM audit_events'))[0]?.n);
    cluster.stop();
    try {
      for (const s of sites) {
        let r = await readyz(s);
        while (r.status === 200 && Date.now() < deadline + BOUND_MS) { await new Promise((r2) => setTimeout(r2, 200)); r = await readyz(s); }
        const store = (r.json as { checks?: Record<string, string> }).checks?.store ?? '';
        assert.match(store, /^degraded: shared store .* unreachable/, `${s.name} /readyz: ${JSON.stringify(r.json)}`);
        const since = Date.now();
        await dhcp(s, mac);
        const d = decisions(s, mac).find((x) => x.time >= since);
        assert.deepEqual([d?.decision, d?.reason], ['boot', 'known'], `${s.name} answers the known machine from its snapshot`);
      }
      // A second unknown machine on B while the database is away: pending, journaled.
      await dhcp(b, '02:77:00:00:09:09');
      assert.ok(decisions(b, '02:77:00:00:09:09').some((d) => d.decision === 'pending'));
    } finally {
      cluster.start();
    }
    // Back: reconnected by themselves, the journals written.
    const back = Date.now() + BOUND_MS;
    let seenBy: string | undefined;
    while (Date.now() < back) {
      const rows = await sql<{ seen_by: string }>(cluster.url, "SELECT seen_by FROM devices WHERE mac = '02:77:00:00:09:09'").catch(() => []);
      seenBy = rows[0]?.seen_by;
      if (seenBy) break;
      await new Promise((r2) => setTimeout(r2, 200));
    }
    assert.equal(seenBy, 'appliance-b', 'the sighting journaled while the database was away arrived');
    const servers = await sql<{ server: string; n: number }>(cluster.url, `SELECT server, COUNT(*)::int AS n FROM audit_events GROUP BY server ORDER BY server`);
    const total = servers.reduce((n, r) => n + r.n, 0);
    assert.ok(total > eventsBefore, `audit events written after the restart (${eventsBefore} -> ${total})`);
    assert.deepEqual(servers.map((r) => r.server).filter((x) => x !== null).sort(), ['appliance-a', 'appliance-b']);
    for (const s of sites) {
      let r = await readyz(s);
      while (r.status !== 200 && Date.now() < back) { await new Promise((r2) => setTimeout(r2, 200)); r = await readyz(s); }
      assert.equal((r.json as { checks?: Record<string, string> }).checks?.store, 'ok', `${s.name} ready again`);
    }
  });

  test('the fleet view: each appliance\'s heartbeat, read through either appliance\'s GET /appliances', async () => {
    const [a, b] = sites as [Site, Site];
    type Row = { name: string; subnets: string[]; version: string; ready: boolean; storeState: string; self: boolean; stale: boolean };
    const deadline = Date.now() + BOUND_MS;
    let rows: Row[] = [];
    // Beats every 15 s: wait until both are there and say ready (after the database came back).
    while (Date.now() < deadline) {
      rows = ((await api(a, 'GET', '/api/v1/appliances')).json as { appliances?: Row[] }).appliances ?? [];
      if (rows.length === 2 && rows.every((r) => r.ready && r.storeState === 'ok' && !r.stale)) break;
      await new Promise((r2) => setTimeout(r2, 500));
    }
    console.log(`appliances through A: ${JSON.stringify(rows.map((r) => [r.name, r.subnets, r.ready, r.storeState, r.self]))}`);
    assert.deepEqual(rows.map((r) => [r.name, r.subnets, r.ready, r.storeState, r.self]), [
      ['appliance-a', [`${a.lab.appAddress.replace(/\.\d+$/, '.0')}/24`], true, 'ok', true],
      ['appliance-b', [`${b.lab.appAddress.replace(/\.\d+$/, '.0')}/24`], true, 'ok', false],
    ]);
    const viaB = ((await api(b, 'GET', '/api/v1/appliances')).json as { appliances: Row[] }).appliances;
    assert.deepEqual(viaB.map((r) => [r.name, r.self]), [['appliance-a', false], ['appliance-b', true]]);
  });
});
