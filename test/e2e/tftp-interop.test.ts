/**
 * Interoperability with the real TFTP clients (atftp with windowsize, tftp-hpa, curl, busybox) on
 * 127.0.0.1, sha256-checked; then atftp and curl over a lossy veth link (nftables numgen drop, 1% and
 * 5%) inside a namespace pair this test creates and always removes. Needs root for the namespaces.
 * Takes about a minute.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { startTftpServer, type TftpServer } from '../../daemon/tftp/server.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const netnsLib = join(repo, 'bench', 'lib', 'tftp-netns.sh');
const serverScript = join(repo, 'dist', 'bench', 'tftp-server.js');

let dir: string;
let root: string;
let server: TftpServer;
const sums: Record<string, string> = {};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bg-tftp-interop-'));
  root = join(dir, 'root');
  mkdirSync(join(root, 'Boot'), { recursive: true });
  for (const [name, size] of [['img.bin', 24 * 1024 * 1024 + 123], ['small.efi', 1_000_000], ['Boot/BCD', 20_000]] as const) {
    const data = randomBytes(size);
    writeFileSync(join(root, name), data);
    sums[name] = sha(data);
  }
  const config = validateConfig({ tftp: { workers: 2 } }, 'interop').tftp;
  const logger = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
  server = await startTftpServer({ root, address: '127.0.0.1', port: 0, config, logger, metrics: createMetrics() });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function fileSha(path: string): string {
  return sha(readFileSync(path));
}

/** The bound is a safety net for a hung client (a busy machine slows loopback transfers several-fold). */
async function fetchWith(cmd: string, args: string[], out: string, timeout = 5 * 60_000): Promise<void> {
  rmSync(out, { force: true });
  await run(cmd, args, { timeout });
}

const clients: Array<{ name: string; file: string; args: (port: number, file: string, out: string) => [string, string[]] }> = [
  { name: 'atftp windowsize 16 blksize 1428', file: 'img.bin', args: (p, f, o) => ['atftp', ['--option', 'blksize 1428', '--option', 'windowsize 16', '-g', '-r', f, '-l', o, '127.0.0.1', String(p)]] },
  { name: 'atftp as OVMF asks (tsize, blksize 1468, windowsize 4)', file: 'small.efi', args: (p, f, o) => ['atftp', ['--option', 'tsize 0', '--option', 'blksize 1468', '--option', 'windowsize 4', '-g', '-r', f, '-l', o, '127.0.0.1', String(p)]] },
  { name: 'atftp plain RFC 1350', file: 'small.efi', args: (p, f, o) => ['atftp', ['-g', '-r', f, '-l', o, '127.0.0.1', String(p)]] },
  { name: 'tftp-hpa binary', file: 'img.bin', args: (p, f, o) => ['tftp', ['-m', 'binary', '127.0.0.1', String(p), '-c', 'get', f, o]] },
  { name: 'tftp-hpa, Windows path', file: 'Boot/BCD', args: (p, _f, o) => ['tftp', ['-m', 'binary', '127.0.0.1', String(p), '-c', 'get', '\\boot\\bcd', o]] },
  { name: 'curl blksize 1428', file: 'img.bin', args: (p, f, o) => ['curl', ['-sS', '--tftp-blksize', '1428', '-o', o, `tftp://127.0.0.1:${p}/${f}`]] },
  { name: 'curl default', file: 'small.efi', args: (p, f, o) => ['curl', ['-sS', '-o', o, `tftp://127.0.0.1:${p}/${f}`]] },
  { name: 'busybox tftp blksize 1468', file: 'img.bin', args: (p, f, o) => ['busybox', ['tftp', '-b', '1468', '-g', '-r', f, '-l', o, '127.0.0.1', String(p)]] },
];

for (const c of clients) {
  test(`interop: ${c.name}`, async () => {
    const out = join(dir, 'out');
    const [cmd, args] = c.args(server.port, c.file, out);
    await fetchWith(cmd, args, out);
    assert.equal(fileSha(out), sums[c.file]);
  });
}

test('interop: 8 clients of three kinds at once', async () => {
  const jobs = Array.from({ length: 8 }, (_, i) => {
    const out = join(dir, `par${i}`);
    const c = clients[[0, 3, 5][i % 3] as number] as (typeof clients)[number];
    const [cmd, args] = c.args(server.port, 'img.bin', out);
    return fetchWith(cmd, args, out, 10 * 60_000).then(() => assert.equal(fileSha(out), sums['img.bin']));
  });
  await Promise.all(jobs);
});

/** Runs a bash snippet with the namespace helpers loaded. */
function bash(script: string, timeout = 5 * 60_000) {
  return run('bash', ['-c', `set -e; source ${netnsLib}; ${script}`], { timeout });
}

test('lossy link (namespace pair, nftables random drop): atftp windowsize and curl complete intact', { timeout: 30 * 60_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    t.diagnostic('needs root for network namespaces');
    assert.fail('this test needs root (network namespaces)');
  }
  const tag = `bgti${process.pid % 100000}`;
  let srv: ChildProcess | null = null;
  try {
    await bash(`tftp_netns_up ${tag}`);
    // --no-gso: netfilter sees a segmented window as one packet and would drop 16 blocks at a time,
    // which is not how a real link loses packets.
    srv = spawn('ip', ['netns', 'exec', `${tag}s`, process.execPath, serverScript, '--root', root, '--address', '10.88.0.1', '--port', '69', '--no-gso'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      srv?.stdout?.once('data', (d: Buffer) => (String(d).startsWith('listening') ? res() : rej(new Error(String(d)))));
      srv?.once('exit', (code) => rej(new Error(`server exited ${code}`)));
    });
    for (const loss of [1, 5]) {
      await bash(`tftp_netns_loss ${tag} ${loss}`);
      const out = join(dir, `lossy${loss}`);
      const t0 = Date.now();
      await bash(`ip netns exec ${tag}c atftp --option 'blksize 1428' --option 'windowsize 16' -g -r img.bin -l ${out} 10.88.0.1`, 300_000);
      t.diagnostic(`atftp at ${loss}% loss: ${(24 * 1.048576 / ((Date.now() - t0) / 1000)).toFixed(1)} MB/s`);
      assert.equal(fileSha(out), sums['img.bin'], `atftp at ${loss}% loss`);
      const out2 = join(dir, `lossy-curl${loss}`);
      await bash(`ip netns exec ${tag}c curl -sS --tftp-blksize 1428 -o ${out2} tftp://10.88.0.1/small.efi`, 300_000);
      assert.equal(fileSha(out2), sums['small.efi'], `curl at ${loss}% loss`);
    }
  } finally {
    if (srv !== null && srv.exitCode === null) {
      const exited = new Promise((r) => srv?.once('exit', r));
      srv.kill('SIGTERM');
      await exited;
    }
    await bash(`tftp_netns_down ${tag}`);
  }
});
