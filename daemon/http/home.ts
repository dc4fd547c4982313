/**
 * `/` on the boot listener: a small page for the person who points a browser at the appliance. What it
 * is, its version, whether it is ready (each check and every missing boot file), and where the admin
 * API, metrics and health endpoints are. Pure: HTML out, every value escaped.
 */

export interface Readiness {
  /** Each check: 'ok' or why not. */
  checks: Record<string, string>;
  /** Files profiles name that are not in the boot root (a warning unless a check names them too). */
  missingFiles: string[];
}

export function isReady(r: Readiness): boolean {
  return Object.values(r.checks).every((v) => v === 'ok');
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `adminElsewhere`: the admin listener's address when it is not this listener (admin.port). */
export function homePage(r: Readiness, opts: { version: string; adminApi: boolean; adminElsewhere?: string | undefined }): string {
  const ready = isReady(r);
  const rows = Object.entries(r.checks)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="${v === 'ok' ? 'ok' : 'bad'}">${esc(v)}</td></tr>`)
    .join('\n');
  const missing = r.missingFiles.length === 0 ? '<p>Every file the profiles name is in the boot root.</p>'
    : `<p>Missing from the boot root:</p>\n<ul>\n${r.missingFiles.map((m) => `<li>${esc(m)}</li>`).join('\n')}\n</ul>`;
  const elsewhere = opts.adminElsewhere;
  const api = elsewhere !== undefined
    ? `<li>The admin API${opts.adminApi ? ' (/api/v1/openapi.json)' : ''} and Prometheus metrics (/metrics) are on the admin listener, ${esc(elsewhere)}.</li>`
    : opts.adminApi ? '<li><a href="/api/v1/openapi.json">/api/v1/openapi.json</a>: the admin API (bearer token)</li>'
    : '<li>The admin API is disabled (admin.enabled: false).</li>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bootgate ${esc(opts.version)}</title>
<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}td{padding:.2em 1em}.ok{color:#060}.bad{color:#a00}</style>
</head><body>
<h1>Bootgate ${esc(opts.version)}</h1>
<p>A network boot appliance: it answers a PC's F12 (proxyDHCP, PXE boot service, TFTP, HTTP boot for
BIOS, UEFI and iPXE) beside the site's DHCP server, and decides per machine what it may boot.</p>
<h2>Readiness: ${ready ? '<span class="ok">ready</span>' : '<span class="bad">not ready</span>'}</h2>
<table>
${rows}
</table>
${missing}
<h2>Endpoints</h2>
<ul>
${api}
${elsewhere === undefined ? '<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>\n' : ''}<li><a href="/readyz">/readyz</a> (the checks above, as JSON) and <a href="/healthz">/healthz</a></li>
</ul>
</body></html>
`;
}
