/**
 * The console from another machine: the appliance runs in the lab's app namespace with its admin
 * listener on its veth address (10.77.0.2:8443, HTTPS with the self-signed certificate it makes on first
 * start); Chromium runs in the site namespace (console-https-driver.ts) and reaches it across the lab's
 * bridge, a non-loopback address where a browser keeps a Secure cookie only over HTTPS. Without trust
 * the certificate is refused; with its public key pinned the sign-in works, the cookie is Secure, the
 * Appliances page shows the appliance on its lab subnet, and signing out ends the session.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBootgate, type Appliance } from '../lab/appliance.js';
import { APP_ADDRESS, createLab, type Lab } from '../lab/netns.js';

const CHROMIUM = '/usr/bin/chromium';
const DRIVER = join(dirname(fileURLToPath(import.meta.url)), 'console-https-driver.js');
const TOKEN = 'console-https-token-0123456789';
const ADMIN_PORT = 8443;
const ARTIFACTS = resolve('test/artifacts');
const BOUND_MS = 10 * 60_000;

describe('the console over HTTPS from another namespace', () => {
  let lab: Lab;
  let app: Appliance;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install the Debian package chromium`);
    mkdirSync(ARTIFACTS, { recursive: true });
    lab = await createLab({ routerAdverts: false });
    const root = join(lab.dir, 'root');
    mkdirSync(root);
    // The lab profile's boot programs (stand-ins: nothing boots here), so the appliance reports ready.
    for (const f of ['ipxe.efi', 'undionly.kpxe']) writeFileSync(join(root, f), Buffer.alloc(4096, 7));
    const tokensFile = join(lab.dir, 'tokens');
    writeFileSync(tokensFile, `${TOKEN}\n`);
    app = await startBootgate(lab, {
      root, ipxeScript: '#!ipxe\nexit\n', scriptTransport: 'http',
      extraConfig: { admin: { address: APP_ADDRESS, port: ADMIN_PORT, tokensFile }, policy: { unknown: { action: 'pending', profile: 'lab' } } },
    });
  });

  after(async () => {
    await app?.stop();
    await lab?.destroy();
  });

  test('refused untrusted; pinned, sign-in over HTTPS on 10.77.0.2 keeps a Secure cookie; Appliances shows the lab subnet; sign-out ends it', { timeout: BOUND_MS }, async () => {
    // The certificate the first start made beside the store; its public key is what the browser pins.
    const pem = readFileSync(join(lab.dir, 'admin-tls.crt'), 'utf8');
    const cert = new X509Certificate(pem);
    const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    console.log(`admin certificate: ${cert.subject.replace(/\n/g, ', ')}; SHA-256 ${cert.fingerprint256}`);
    const spec = { url: `https://${APP_ADDRESS}:${ADMIN_PORT}/console/`, token: TOKEN, spki, shots: ARTIFACTS };
    const r = await lab.run([process.execPath, DRIVER, JSON.stringify(spec)], lab.siteNs, BOUND_MS);
    const line = r.stdout.trim().split('\n').pop() ?? '{}';
    console.log(`browser in ${lab.siteNs}: ${line}`);
    const got = JSON.parse(line) as {
      error?: string; untrusted: string; protocol: string; after: number; pageErrors: string[]; appliance: string[];
      cookie?: { secure: boolean; httpOnly: boolean; sameSite: string; domain: string };
    };
    assert.equal(got.error, undefined, `${got.error}\n${app.log().slice(-3000)}`);
    assert.match(got.untrusted, /ERR_CERT/, 'the self-signed certificate is not trusted by default');
    assert.equal(got.protocol, 'https:');
    assert.deepEqual(got.cookie, { secure: true, httpOnly: true, sameSite: 'Strict', domain: APP_ADDRESS });
    assert.match(got.appliance[1] ?? '', /^10\.77\.0\.0\/24$/, got.appliance.join(' | '));
    assert.equal(got.appliance[3], 'ready');
    assert.equal(got.after, 401, 'signed out: the session is gone on the server');
    assert.deepEqual(got.pageErrors, []);
  });
});
