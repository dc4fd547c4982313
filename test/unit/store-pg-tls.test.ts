/**
 * The shared store over TLS with a password, against a throwaway cluster on 127.0.0.1 with ssl=on
 * (a CA and a server certificate for "localhost" made with openssl here) and scram-sha-256 in
 * pg_hba (no connection without TLS): each sslmode does what libpq's does, the password comes from
 * store.passwordFile or PGPASSFILE, a wrong one is a clear start error naming where it came from,
 * and the password shows neither in messages nor in a process's arguments or output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../daemon/store/db.js';
import { connectPg, type PgTarget } from '../../daemon/store/pg-conn.js';
import type { PgSyncDb } from '../../daemon/store/pg-sync.js';
import { startPgCluster, toServerUser, type PgCluster } from '../lab/postgres.js';

const PASSWORD = 'Right-Horse-Battery-7731';
let dir: string;
let cluster: PgCluster;
let ca: string;
let wrongCa: string;
let passwordFile: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a server certificate it signs for "localhost" only (no IP address in it). */
function makeCerts(): void {
  for (const name of ['ca', 'wrong-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=bootgate test ${name}`,
      '-keyout', `${name}.key`, '-out', `${name}.crt`);
  }
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'san.ext', '-out', 'server.crt');
  toServerUser(join(dir, 'server.key'), 0o600);
  toServerUser(join(dir, 'server.crt'), 0o644);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-pgtls-'));
  chmodSync(dir, 0o755);
  makeCerts();
  ca = join(dir, 'ca.crt');
  wrongCa = join(dir, 'wrong-ca.crt');
  cluster = startPgCluster({
    tcp: true,
    settings: { ssl: 'on', ssl_cert_file: join(dir, 'server.crt'), ssl_key_file: join(dir, 'server.key') },
    hba: ['local all all trust', 'hostssl all all 127.0.0.1/32 scram-sha-256'],
  });
  cluster.psql(`CREATE ROLE bootgate LOGIN PASSWORD '${PASSWORD}'`);
  cluster.psql('ALTER DATABASE bootgate OWNER TO bootgate');
  passwordFile = join(dir, 'db-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
});
after(() => {
  cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const url = (host: string, query: string) => `postgres://bootgate@${host}:${cluster.port}/bootgate?${query}`;

/** Connects, and says whether the session is encrypted. */
async function tlsOf(t: PgTarget): Promise<boolean> {
  const c = await connectPg(t);
  try {
    return (await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl === true;
  } finally {
    await c.end();
  }
}

test('sslmode: each mode connects or refuses as libpq does', async () => {
  const withPw = (u: string): PgTarget => ({ url: u, passwordFile });
  assert.equal(await tlsOf(withPw(url('localhost', 'sslmode=prefer'))), true, 'prefer: TLS when the server offers it');
  assert.equal(await tlsOf(withPw(url('127.0.0.1', ''))), true, 'prefer is the default');
  assert.equal(await tlsOf(withPw(url('127.0.0.1', 'sslmode=require'))), true, 'require: encrypted, not verified');
  assert.equal(await tlsOf(withPw(url('localhost', 'sslmode=allow'))), true, 'allow: plain refused by pg_hba, then TLS');
  assert.equal(await tlsOf(withPw(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${ca}`))), true, 'verify-ca: the chain, not the name');
  assert.equal(await tlsOf(withPw(url('localhost', `sslmode=verify-full&sslrootcert=${ca}`))), true, 'verify-full: chain and name');

  await assert.rejects(connectPg(withPw(url('127.0.0.1', 'sslmode=disable'))), /no pg_hba\.conf entry .*no encryption/);
  await assert.rejects(connectPg(withPw(url('localhost', `sslmode=verify-full&sslrootcert=${wrongCa}`))), /\(TLS\): .*(self[- ]signed|unable to verify|certificate)/i,
    'verify-full with the wrong CA is refused');
  await assert.rejects(connectPg(withPw(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${wrongCa}`))), /\(TLS\): .*(self[- ]signed|unable to verify|certificate)/i,
    'verify-ca with the wrong CA is refused');
  await assert.rejects(connectPg(withPw(url('127.0.0.1', `sslmode=verify-full&sslrootcert=${ca}`))), /\(TLS\): .*(IP: 127\.0\.0\.1 is not in the cert|altnames)/i,
    'verify-full: a certificate for localhost does not do for 127.0.0.1');
  await assert.rejects(connectPg(withPw(url('localhost', `sslmode=verify-full&sslrootcert=${join(dir, 'nope.crt')}`))), /store\.url sslrootcert .*nope\.crt: ENOENT/);
});

test('the password: store.passwordFile, PGPASSFILE; a wrong one is a clear start error; never shown', async () => {
  const u = url('localhost', `sslmode=verify-full&sslrootcert=${ca}`);
  const store = openStore(u, { passwordFile, serverName: 'tls-a' });
  try {
    assert.equal((store.db as PgSyncDb).query('SELECT current_user AS u').rows[0]?.u, 'bootgate');
    assert.equal((store.db as PgSyncDb).query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()').rows[0]?.ssl, true);
  } finally {
    store.close();
  }

  const wrongFile = join(dir, 'wrong-password');
  writeFileSync(wrongFile, 'Wrong-Horse-0000\n', { mode: 0o600 });
  assert.throws(() => openStore(u, { passwordFile: wrongFile }), (e: Error) => e.name === 'StoreError'
    && /^store\.url postgres:\/\/bootgate@localhost:\d+\/bootgate\S*: cannot connect: localhost:\d+ \(TLS\): password authentication failed for user "bootgate" \(the password comes from store\.passwordFile\)$/.test(e.message)
    && !e.message.includes('Wrong-Horse'));
  assert.throws(() => openStore(u, { passwordFile: join(dir, 'missing') }), (e: Error) => /store\.passwordFile .*missing: ENOENT/.test(e.message));

  // PGPASSFILE (read by node-postgres when no password is given; it must not be readable by others).
  const pgpass = join(dir, 'pgpass');
  const saved = process.env.PGPASSFILE;
  try {
    writeFileSync(pgpass, `*:${cluster.port}:bootgate:bootgate:${PASSWORD}\n`, { mode: 0o600 });
    process.env.PGPASSFILE = pgpass;
    const viaPgpass = openStore(u, { serverName: 'tls-b' });
    assert.equal((viaPgpass.db as PgSyncDb).query('SELECT current_user AS u').rows[0]?.u, 'bootgate');
    viaPgpass.close();
    writeFileSync(pgpass, `*:${cluster.port}:bootgate:bootgate:Wrong-Horse-1111\n`, { mode: 0o600 });
    assert.throws(() => openStore(u), (e: Error) => /password authentication failed .*\(the password comes from PGPASSFILE\)$/.test(e.message)
      && !e.message.includes('Wrong-Horse'));
    // A password file others may read is ignored (libpq does the same); then there is no password at all.
    writeFileSync(pgpass, `*:${cluster.port}:bootgate:bootgate:${PASSWORD}\n`);
    chmodSync(pgpass, 0o644);
    assert.throws(() => openStore(u), (e: Error) => /^store\.url .*: the server asks for a password and none was found \(store\.passwordFile, store\.url, PGPASSFILE\)/.test(e.message)
      && !e.message.includes(PASSWORD));
  } finally {
    if (saved === undefined) delete process.env.PGPASSFILE;
    else process.env.PGPASSFILE = saved;
  }

  // A password in the URL is hidden in the error.
  assert.throws(() => openStore(url('localhost', `sslmode=verify-full&sslrootcert=${ca}`).replace('bootgate@', 'bootgate:Wrong-Horse-2222@')),
    (e: Error) => /^store\.url postgres:\/\/bootgate:\*\*\*@localhost.*\(the password comes from store\.url\)$/.test(e.message) && !e.message.includes('Wrong-Horse'));
});

test('bootgate store migrate with --password-file: the password is in neither its arguments nor its output', async () => {
  const empty = join(dir, 'empty.db');
  openStore(empty).close();
  const bin = fileURLToPath(new URL('../../daemon/bootgate.js', import.meta.url));
  const run = (file: string) => new Promise<{ code: number | null; out: string; cmdline: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'store', 'migrate', '--from', empty, '--to', url('localhost', `sslmode=verify-full&sslrootcert=${ca}`), '--password-file', file, '--name', 'cli'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      // Gone already: its arguments are the ones given above.
    }
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, cmdline }));
  });
  const ok = await run(passwordFile);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /copied .* into postgres:\/\/bootgate@localhost/);
  const wrongFile = join(dir, 'wrong-password-2');
  writeFileSync(wrongFile, 'Wrong-Horse-3333\n', { mode: 0o600 });
  const bad = await run(wrongFile);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /password authentication failed .*store\.passwordFile/);
  for (const r of [ok, bad]) {
    assert.ok(!r.out.includes(PASSWORD) && !r.out.includes('Wrong-Horse'), 'no password in the output');
    assert.ok(r.cmdline === '' || (r.cmdline.includes('--password-file') && !r.cmdline.includes(PASSWORD) && !r.cmdline.includes('Wrong-Horse')), 'no password in the arguments');
  }
});
