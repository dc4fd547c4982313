/**
 * The console page's files (HTML, CSS, one script, no framework, nothing from a CDN), read once from
 * the static/ folder beside this module's source and served with a strict Content-Security-Policy:
 * scripts and styles from this origin only, no inline script, no framing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
};

export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Where the files are: static/ beside the source (daemon/features/console/static), which is also where
 * a build (dist/daemon/features/console/) finds them, four folders up and back down.
 */
export function staticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'static'), resolve(here, '../../../../daemon/features/console/static')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`console page files not found (looked in ${candidates.join(', ')})`);
  return found;
}

export async function serveStatic(app: FastifyInstance, base: string): Promise<void> {
  const dir = staticDir();
  const files = new Map(Object.entries(FILES).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }]));
  const send = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name);
    if (!f) return reply.code(404).send();
    return reply.type(f.type)
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .send(f.body);
  };
  app.get(base, async (_req, reply) => reply.redirect(`${base}/`, 301));
  app.get(`${base}/`, send('index.html'));
  for (const name of Object.keys(FILES)) app.get(`${base}/${name}`, send(name));
}
