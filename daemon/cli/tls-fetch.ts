/**
 * A fetch for the admin listener's HTTPS that trusts exactly one certificate: the one the config names
 * (admin.tls.cert) or the self-signed one next to the store, pinned as the only certificate authority.
 * Verification stays on: the chain must lead to that certificate, and the host name must match unless
 * the server presents that very certificate (a self-signed one names this host and loopback, not the
 * management address an admin.address may be). Nothing process-wide changes. Node's global fetch takes
 * no CA without undici's dispatcher, so this is node:https behind the fetch interface the CLI uses.
 */
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';

/** `fetch` for https: URLs trusting `caPem` only; other URLs go to `plain` (the global fetch). */
export function trustingFetch(caPem: string, plain: typeof fetch = globalThis.fetch): typeof fetch {
  const pinned = new X509Certificate(caPem).raw;
  const identity = (host: string, cert: PeerCertificate): Error | undefined => (cert.raw.equals(pinned) ? undefined : checkServerIdentity(host, cert));
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return plain(input, init);
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    return new Promise<Response>((resolve, reject) => {
      // agent: false, a connection per call: a pooled socket would carry the pin's identity rule to others' requests.
      const req = request(url, { method: init.method ?? 'GET', headers, ca: caPem, checkServerIdentity: identity, agent: false, signal: init.signal ?? undefined }, (res) => {
        const status = res.statusCode ?? 0;
        const resHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) for (const one of Array.isArray(v) ? v : [v]) resHeaders.append(k, one);
        }
        // A Response with status 204 or 304 takes no body.
        const stream = status === 204 || status === 304 ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        if (stream === null) res.resume();
        resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: resHeaders }));
      });
      // The global fetch's shape: a TypeError whose cause carries the code (ECONNREFUSED, a certificate error).
      req.on('error', (err) => reject(init.signal?.aborted ? err : new TypeError('fetch failed', { cause: err })));
      req.end(body);
    });
  };
}

/**
 * The SHA-256 fingerprint of the certificate served at host:port, read over a TLS connection that
 * trusts `caPem` only (as trustingFetch does); a refused certificate rejects with the TLS error.
 */
export function servedFingerprint(host: string, port: number, caPem: string, timeoutMs = 5000): Promise<string> {
  const pinned = new X509Certificate(caPem).raw;
  return new Promise((resolve, reject) => {
    const sock = connect({
      host, port, ca: caPem, servername: isIP(host) ? undefined : host,
      checkServerIdentity: (h, cert) => (cert.raw.equals(pinned) ? undefined : checkServerIdentity(h, cert)),
    }, () => {
      const fp = sock.getPeerX509Certificate()?.fingerprint256;
      sock.end();
      if (fp) resolve(fp);
      else reject(new Error('no certificate'));
    });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    sock.on('error', reject);
  });
}
