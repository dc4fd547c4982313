/**
 * HTTP for password gating, two fastify plugins:
 *
 * - `unlockRoutes`, on the boot HTTP server (no admin token: iPXE calls it): `GET /unlock?mac=<mac>` with
 *   the typed password as HTTP Basic credentials (RFC 7617). Without credentials it answers the 401
 *   challenge iPXE needs before it sends them. Then it answers an iPXE script: the profile's own (file
 *   URLs signed) when the password is right, else one that says what went wrong and asks again.
 * - `passwordAdminRoutes`, inside the admin API (its bearer-token hook, error shape and validators):
 *   `GET /password`, `PUT /password`, `DELETE /password`, `DELETE /password/lockouts/:client`.
 *
 * Neither logs a request: the password is never in a URL, and the Authorization header goes nowhere.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeMac } from '../../policy/identity.js';
import type { Decision } from '../../policy/types.js';
import { clientParams, passwordSetBody, profileQuery } from './schemas.js';
import type { Remote } from '../feature.js';
import type { PasswordAdmin } from './service.js';
import type { PasswordGate } from './gate.js';
import { busyScript, lockedOutScript, noPasswordSetScript, wrongPasswordScript, type PromptOptions } from './scripts.js';
import type { Unlock } from './unlocks.js';

export interface UnlockRoutesOptions {
  passwords: Pick<PasswordGate, 'attempt'>;
  lockoutMinutes: () => number;
  /** The decision the script door makes now for this MAC asked from this IP (Gatekeeper.decide, door `ipxe-script`). */
  decide(mac: string, ip: string): Decision;
  /** The per-client script as the script door answers it now (BootContent.answer of ipxe/<mac>.ipxe); null when refused. */
  script(mac: string, ip: string, serverIp: string): Promise<Buffer | string | null>;
}

const REALM = 'Basic realm="Bootgate boot password", charset="UTF-8"';

/** The password of a `Basic` Authorization header (the user name is ignored), or null. */
export function basicPassword(header: string | undefined): string | null {
  if (!header || header.length > 1024) return null;
  const m = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!m?.[1]) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : text.slice(colon + 1);
}

function clientIp(req: FastifyRequest): string {
  return req.ip.replace(/^::ffff:/, '');
}

const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

/**
 * The address the client reached (for the script door's `{{server}}`) and the base URL it used, which
 * the prompt's retry must use again: the Host header iPXE sent, else the socket's local address.
 */
function local(req: FastifyRequest): { ip: string; base: string } {
  const ip = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
  const host = req.headers.host ?? '';
  return { ip, base: HOST.test(host) ? `http://${host}` : `http://${ip || '127.0.0.1'}:${req.socket.localPort ?? 80}` };
}

function sendScript(reply: FastifyReply, text: Buffer | string | null): FastifyReply {
  if (text === null) return reply.code(403).type('text/plain').send('forbidden\n');
  return reply.code(200).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(text);
}

export async function unlockRoutes(app: FastifyInstance, opts: UnlockRoutesOptions): Promise<void> {
  app.get<{ Querystring: { mac?: string } }>('/unlock', async (req, reply) => {
    const mac = normalizeMac(String(req.query.mac ?? ''));
    if (!mac) return reply.code(400).type('text/plain').send('expected ?mac=<MAC address>\n');
    const password = basicPassword(req.headers.authorization);
    // iPXE sends the URL's credentials only once challenged (net/tcp/httpcore.c), like a browser.
    if (password === null) return reply.code(401).header('www-authenticate', REALM).type('text/plain').send('password required\n');
    const ip = clientIp(req);
    const srv = local(req);
    const decision = opts.decide(mac, ip);
    // Not (or no longer) gated, pending, unlocked already, ...: whatever the script door says now.
    if (decision.kind !== 'password') return sendScript(reply, await opts.script(mac, ip, srv.ip));
    const prompt: PromptOptions = { mac, computer: decision.computer, profile: decision.profile, httpBase: srv.base };
    const outcome = await opts.passwords.attempt({ mac, ip, profile: decision.profile, computer: decision.computer, password });
    switch (outcome.result) {
      case 'ok': return sendScript(reply, await opts.script(mac, ip, srv.ip));
      case 'wrong': return sendScript(reply, wrongPasswordScript(prompt, outcome.triesLeft, opts.lockoutMinutes()));
      case 'locked': return sendScript(reply, lockedOutScript(prompt, Math.max(1, Math.ceil(outcome.retryAfterMs / 60_000))));
      case 'no-password': return sendScript(reply, noPasswordSetScript(prompt));
      case 'busy': return sendScript(reply, busyScript(prompt));
    }
  });
}

export interface PasswordAdminRoutesOptions {
  admin: Remote<PasswordAdmin>;
  /** Who made a change, for the audit trail (`api:<token id>`). */
  actor: (req: FastifyRequest) => string;
  /** Live unlocks, from the running gate. */
  unlocks?: () => Unlock[];
}

const errorRef = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' }, problems: { type: 'array', items: { type: 'string' } } },
} as const;
const errors = { 400: errorRef, 401: errorRef, 403: errorRef, 404: errorRef, 429: errorRef };
const setSchema = { type: 'object', properties: { set: { type: 'boolean' }, updatedAt: { type: ['string', 'null'] }, updatedBy: { type: ['string', 'null'] } } } as const;
const lockoutSchema = {
  type: 'object',
  properties: {
    client: { type: 'string' }, by: { enum: ['mac', 'ip'] }, failures: { type: 'integer' }, locked: { type: 'boolean' },
    lockedUntil: { type: ['string', 'null'] }, lastFailureAt: { type: 'string' },
  },
} as const;
const statusSchema = {
  type: 'object',
  properties: {
    required: { type: 'boolean' }, maxFailures: { type: 'integer' }, lockoutMinutes: { type: 'integer' }, unlockMinutes: { type: 'integer' },
    global: setSchema,
    profiles: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' }, mode: { type: 'string' }, gated: { type: 'boolean' }, uses: { type: 'string' }, own: setSchema,
          files: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    lockouts: { type: 'array', items: lockoutSchema },
    unlocks: {
      type: 'array',
      items: { type: 'object', properties: { mac: { type: 'string' }, ip: { type: 'string' }, profile: { type: 'string' }, expiresAt: { type: 'string' } } },
    },
  },
} as const;
const tags = ['password'];

export async function passwordAdminRoutes(app: FastifyInstance, opts: PasswordAdminRoutesOptions): Promise<void> {
  const { admin, actor } = opts;

  app.get('/password', {
    schema: { tags, summary: 'Boot password state: which profiles are gated, which passwords are set (never the passwords), lockouts, live unlocks', response: { 200: statusSchema, ...errors } },
  }, async () => ({
    ...(await admin.status()),
    unlocks: (opts.unlocks?.() ?? []).map((u) => ({ mac: u.mac, ip: u.ip, profile: u.profile, expiresAt: new Date(u.expiresAt).toISOString() })),
  }));

  app.put<{ Body: { password: unknown; profile?: string | null } }>('/password', {
    schema: {
      tags, summary: 'Set the global boot password, or a profile\'s own (stored as a salted scrypt hash only)',
      body: passwordSetBody,
      response: { 200: setSchema, ...errors },
    },
  }, async (req) => admin.set(req.body.profile ?? null, req.body.password, actor(req)));

  app.delete<{ Querystring: { profile?: string } }>('/password', {
    schema: { tags, summary: 'Remove the global password, or a profile\'s own (?profile=)', querystring: profileQuery, response: { 204: { type: 'null' }, ...errors } },
  }, async (req, reply) => {
    await admin.clear(req.query.profile ?? null, actor(req));
    return reply.code(204).send();
  });

  app.delete<{ Params: { client: string } }>('/password/lockouts/:client', {
    schema: {
      tags, summary: 'Lift the lockout of a MAC or an IP address (and forget its wrong passwords)',
      params: clientParams,
      response: { 200: lockoutSchema, ...errors },
    },
  }, async (req) => admin.lift(req.params.client, actor(req)));
}
