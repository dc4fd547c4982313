/**
 * The admin listener's TLS material: the admin's own certificate and key (admin.tls.cert/key), or a
 * self-signed pair made on first start and kept next to the store, so the console and its tokens never
 * cross the boot subnet in clear text and the certificate an admin pinned stays the same across
 * restarts. The SHA-256 fingerprint goes to the log and to `bootgate status`, which is how an admin
 * tells this appliance's certificate from a man in the middle's on first visit.
 *
 * Node's crypto makes keys but cannot write an X.509 certificate, hence the `selfsigned` package.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

/** Writes through a temporary file and a rename, so a crash never leaves half a key. */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
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
  writeAtomic(paths.key, pems.private, 0o600);
  writeAtomic(paths.cert, pems.cert, 0o644);
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
