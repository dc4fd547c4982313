#!/usr/bin/env node
/**
 * Container HEALTHCHECK: exits 0 when the daemon's /readyz answers 200 (every check ok: sockets bound, boot root
 * readable, store open, the files of the profile unknown machines get present), 1 otherwise with the reason on stderr. Node's own fetch, so the image needs
 * no curl. The address and port come from the config file and the BOOTGATE_* variables, loaded by the
 * daemon's own loader, so the check follows `admin.port`, `http.port` and `server.interfaces` wherever
 * they were set. Ports given as flags
 * (`serve --http-port`) are invisible here: in a container, set BOOTGATE_HTTP_PORT instead.
 *
 * The admin listener (admin.port) serves HTTPS: /readyz carries no secret, but the check still trusts
 * exactly the admin certificate (admin.tls.cert, else the self-signed one next to the store).
 *
 * Usage: node deploy/healthcheck.mjs [CONFIG_FILE]   (a missing file means defaults + variables)
 */
import { existsSync, readFileSync } from 'node:fs';
import { trustingFetch } from '../dist/daemon/cli/tls-fetch.js';
import { adminListenerUrl } from '../dist/daemon/config/defaults.js';
import { loadConfig } from '../dist/daemon/config/load.js';

const TIMEOUT_MS = 4000;

function fail(message) {
  process.stderr.write(`bootgate healthcheck: ${message}\n`);
  process.exit(1);
}

async function main() {
  const file = process.argv[2];
  let cfg;
  try {
    cfg = loadConfig({ file: file && existsSync(file) ? file : undefined, env: process.env });
  } catch (err) {
    fail(`configuration: ${err instanceof Error ? err.message : String(err)}`);
  }
  // The admin listener (admin.port), else the boot listener: on server.interfaces' addresses when named.
  const at = adminListenerUrl(cfg);
  if (!('base' in at)) fail(`there is no /readyz to ask: ${at.none}`);
  const url = `${at.base}/readyz`;
  let doFetch = fetch;
  if (at.ca) {
    try {
      doFetch = trustingFetch(readFileSync(at.ca, 'utf8'));
    } catch (err) {
      fail(`the admin certificate ${at.ca}: ${err instanceof Error ? (err.code ?? err.message) : String(err)}`);
    }
  }
  let res;
  try {
    res = await doFetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    fail(`${url}: ${err instanceof Error ? (err.cause?.code ?? err.message) : String(err)}`);
  }
  const body = (await res.text()).slice(0, 500);
  if (res.status !== 200) fail(`${url}: ${res.status} ${body}`);
  process.stdout.write(`${url}: ${body}\n`);
}

await main();
