/**
 * Bearer tokens for the admin API: lines `token` (read-write) or `token:ro` in the tokens file
 * (admin.tokensFile, else `admin-tokens` beside the store), plus BOOTGATE_ADMIN_TOKEN (read-write). Tokens are kept only as SHA-256 digests, compared by digest
 * (a map lookup on a hash leaks nothing about the token), never logged; the audit trail names a token
 * by the first hex digits of its digest. Repeated failures from one address are refused for a while.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BootgateConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';

/** The tokens file's name beside the store when admin.tokensFile is not set. */
export const DEFAULT_TOKENS_FILE_NAME = 'admin-tokens';

export interface TokensFile {
  path: string;
  /** Named by admin.tokensFile (else the default beside the store, which may not exist yet). */
  configured: boolean;
}

/**
 * Where the admin tokens live: admin.tokensFile, else `admin-tokens` in the store's folder (relative
 * store paths from the working directory, as the store itself is opened); none for an in-memory store.
 * The daemon and the CLI on the same host find the same file through the same config.
 */
export function adminTokensFile(cfg: Pick<BootgateConfig, 'admin' | 'store'>): TokensFile | null {
  if (cfg.admin.tokensFile !== null) return { path: resolve(cfg.admin.tokensFile), configured: true };
  if (cfg.store.path === ':memory:') return null;
  return { path: join(dirname(resolve(cfg.store.path)), DEFAULT_TOKENS_FILE_NAME), configured: false };
}

export interface TokenInfo {
  readOnly: boolean;
  /** `api:1a2b3c4d`: stable per token, safe to log and store. */
  actor: string;
}

/** Short tokens are guessable; refuse them rather than pretend they protect anything. */
export const TOKEN_MIN_LENGTH = 16;
const TOKEN_CHARS = /^[A-Za-z0-9._~+/=-]+$/;

const digest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Parses a tokens file; problems name the line, never the token. */
export function parseTokens(text: string, source: string): { tokens: Map<string, TokenInfo>; problems: string[] } {
  const tokens = new Map<string, TokenInfo>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(.*?)(?::(ro|rw))?$/.exec(line);
    const token = m?.[1] ?? '';
    if (token.length < TOKEN_MIN_LENGTH || !TOKEN_CHARS.test(token)) {
      problems.push(`${source} line ${i + 1}: token ignored (needs at least ${TOKEN_MIN_LENGTH} characters of letters, digits and ._~+/=-)`);
      return;
    }
    const d = digest(token);
    tokens.set(d, { readOnly: m?.[2] === 'ro', actor: `api:${d.slice(0, 8)}` });
  });
  return { tokens, problems };
}

export class TokenStore {
  private tokens = new Map<string, TokenInfo>();
  private fileMtime = -1;
  private checkedAt = -Infinity;

  constructor(
    private readonly file: string | null,
    private readonly envToken: string | undefined,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /** A missing file means no tokens yet, not an error (the default file, which `bootgate token new` may create later). */
    private readonly missingOk = false,
  ) {
    this.reload(true);
  }

  get size(): number {
    return this.tokens.size;
  }

  /** Re-reads the file when it changed (checked at most every 2 s), so tokens rotate without a restart. */
  private reload(force = false): void {
    const t = this.now();
    if (!force && t - this.checkedAt < 2000) return;
    this.checkedAt = t;
    let text = '';
    if (this.file !== null) {
      try {
        const mtime = statSync(this.file).mtimeMs;
        if (!force && mtime === this.fileMtime) return;
        this.fileMtime = mtime;
        text = readFileSync(this.file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!(this.missingOk && code === 'ENOENT') && (force || this.fileMtime !== -2)) this.logger.error({ file: this.file, code }, 'admin tokens file unreadable');
        this.fileMtime = -2;
      }
    }
    const { tokens, problems } = parseTokens(text, this.file ?? 'tokens');
    for (const p of problems) this.logger.warn(p);
    if (this.envToken !== undefined && this.envToken !== '') {
      const env = parseTokens(this.envToken.replace(/:(ro|rw)$/, ''), 'BOOTGATE_ADMIN_TOKEN');
      for (const p of env.problems) this.logger.warn(p);
      for (const [d, info] of env.tokens) tokens.set(d, info);
    }
    this.tokens = tokens;
    if (tokens.size === 0) this.logger.warn('no admin API tokens configured (admin.tokensFile or BOOTGATE_ADMIN_TOKEN; `bootgate token new` adds one): every admin request is refused');
  }

  lookup(token: string): TokenInfo | undefined {
    this.reload();
    return this.tokens.get(digest(token));
  }
}

/**
 * Counts failed authentications per address in a fixed window; at `max` failures the address is
 * refused (429) until the window ends. The table is bounded: when full, the oldest entry goes.
 */
export class FailureLimiter {
  private readonly entries = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  /** Milliseconds the address must still wait, 0 when it may try. */
  blockedFor(ip: string): number {
    const e = this.entries.get(ip);
    if (!e) return 0;
    const left = e.start + this.windowMs - this.now();
    if (left <= 0) { this.entries.delete(ip); return 0; }
    return e.count >= this.max ? left : 0;
  }

  fail(ip: string): void {
    const t = this.now();
    const e = this.entries.get(ip);
    if (e && t - e.start < this.windowMs) { e.count += 1; return; }
    this.entries.delete(ip);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(ip, { start: t, count: 1 });
  }
}
