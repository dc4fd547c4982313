/**
 * The admin listener's TLS material: the admin's own certificate and key (admin.tls.cert/key), or a
 * self-signed pair made on first start and kept next to the store, so the console and its tokens never
 * cross the boot subnet in clear text and the certificate an admin pinned stays the same across
 * restarts. The SHA-256 fingerprint goes to the log and to `bootgate status`, which is how an admin
 * tells this appliance's certificate from a man in the middle's on first visit.
 *
 * Node's crypto makes keys but cannot write an X.509 certificate, hence the `selfsigned` package.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 of the DER certificate, upper-case hex pairs separated by colons (what browsers show). */
  fingerprint256: string;
  source: 'config' | 'self-signed' | 'generated';
  certFile: string;
  keyFile: string;
}

export { selfSignedPaths } from '../config/defaults.js';

export function fingerprint256(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Reads a pair and checks that the key belongs to the certificate; the error names the file. */
function readPair(certFile: string, keyFile: string): { cert: string; key: string; fingerprint256: string } {
  const cert = readFileSync(certFile, 'utf8');
  const key = readFileSync(keyFile, 'utf8');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${certFile}: not a PEM certificate (${(err as Error).message})`, { cause: err });
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new Error(`${keyFile}: not a PEM private key (${(err as Error).message})`, { cause: err });
  }
  if (!matches) throw new Error(`${keyFile} is not the key of ${certFile}`);
  return { cert, key, fingerprint256: x509.fingerprint256 };
}

/** Writes a temporary file beside `file` (complete, with its mode) and returns its name. */
function writeTemporary(file: string, text: string, mode: number): string {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  return tmp;
}

/** How long a start that lost the race waits for the winner's certificate, and the poll interval. */
const PAIR_WAIT_MS = 10_000;
const PAIR_POLL_MS = 50;

/**
 * Puts a fresh pair in place, unless another start got there first (two instances whose stores share
 * a folder, started together): the key is claimed with a hard link, which fails when the file exists,
 * so exactly one pair wins and every instance serves that one. A complete file or none: a crash never
 * leaves half a key. A key left without its certificate (a crash between the two steps) is removed
 * after the wait and the claim tried again once.
 */
async function placePair(paths: { cert: string; key: string }, pems: { cert: string; private: string }, retry = true): Promise<void> {
  const tmpKey = writeTemporary(paths.key, pems.private, 0o600);
  const tmpCert = writeTemporary(paths.cert, pems.cert, 0o644);
  try {
    try {
      linkSync(tmpKey, paths.key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        // A file system without hard links: renames, complete files still, the last start's pair kept.
        renameSync(tmpKey, paths.key);
        renameSync(tmpCert, paths.cert);
        return;
      }
      for (const deadline = Date.now() + PAIR_WAIT_MS; Date.now() < deadline && !existsSync(paths.cert);) {
        await new Promise((r) => setTimeout(r, PAIR_POLL_MS));
      }
      if (existsSync(paths.cert) || !retry) return;
      rmSync(paths.key, { force: true });
      await placePair(paths, pems, false);
      return;
    }
    renameSync(tmpCert, paths.cert);
  } finally {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
  }
}

/**
 * The certificate the admin listener serves: the configured pair when both files are set, else the
 * self-signed pair in `paths`, made (EC P-256, ten years, the host name, localhost and the loopback
 * addresses as names) when it is not there yet.
 */
export async function adminTls(cfg: { cert: string | null; key: string | null }, paths: { cert: string; key: string } | null, now = new Date()): Promise<TlsMaterial> {
  if (cfg.cert !== null || cfg.key !== null) {
    if (cfg.cert === null || cfg.key === null) throw new Error('admin.tls.cert and admin.tls.key go together: set both or neither');
    return { ...readPair(cfg.cert, cfg.key), source: 'config', certFile: cfg.cert, keyFile: cfg.key };
  }
  if (paths !== null && existsSync(paths.cert) && existsSync(paths.key)) {
    return { ...readPair(paths.cert, paths.key), source: 'self-signed', certFile: paths.cert, keyFile: paths.key };
  }
  const host = hostname() || 'bootgate';
  const notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: now, notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: host }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  } as Parameters<typeof generate>[1]);
  if (paths === null) return { cert: pems.cert, key: pems.private, fingerprint256: fingerprint256(pems.cert), source: 'generated', certFile: '', keyFile: '' };
  mkdirSync(dirname(paths.key), { recursive: true });
  // A key alone for longer than a start takes to place its certificate was left by a crash.
  if (existsSync(paths.key) && !existsSync(paths.cert) && Date.now() - statSync(paths.key).mtimeMs > PAIR_WAIT_MS) rmSync(paths.key, { force: true });
  await placePair(paths, pems);
  // The pair on disk, which is another start's when it placed one first.
  return { ...readPair(paths.cert, paths.key), source: 'generated', certFile: paths.cert, keyFile: paths.key };
}

/** The fingerprint of whatever pair the listener would serve, without making one (for `bootgate status`). */
export function adminTlsFingerprint(cfg: { cert: string | null; key: string | null }, paths: { cert: string; key: string } | null): string | null {
  const file = cfg.cert ?? paths?.cert;
  if (file === undefined) return null;
  try {
    return fingerprint256(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}
