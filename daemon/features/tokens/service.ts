/**
 * The admin tokens file on this host: the first start's read-write token, `bootgate token new`, and
 * where the file is. Lines are what the admin API reads (http/admin/auth.ts): `token` or `token:ro`,
 * `#` comments (a token's name and when it was added). The file is created whole (written to a
 * temporary name, then linked into place, which fails if the file appeared meanwhile), mode 0600, and
 * never overwritten: new tokens are appended. No token is ever logged.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BootgateConfig } from '../../config/schema.js';
import { adminTokensFile, parseTokens, type TokensFile } from '../../http/admin/auth.js';
import type { Logger } from '../../log.js';

/** 32 random bytes, base64url: 43 characters, all of them accepted by the tokens file format. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The name goes into a comment line: one line, printable, bounded. */
export function nameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 100) return 'a token name has 1 to 100 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a token name is one line of printable characters';
  return null;
}

export interface NewToken {
  token: string;
  readOnly: boolean;
  name: string | null;
  /** How the audit trail names it: `api:` and the first hex digits of its digest. */
  actor: string;
  file: string;
  /** The file did not exist and was created. */
  created: boolean;
}

function entry(token: string, readOnly: boolean, name: string | null, now: Date): string {
  const what = `${readOnly ? 'read-only' : 'read-write'}, added ${now.toISOString()}`;
  return `# ${name === null ? what : `${name}: ${what}`}\n${token}${readOnly ? ':ro' : ''}\n`;
}

/**
 * Creates `path` holding `text` if no such file exists, atomically and mode 0600: readers see the
 * whole file or none. False when it already existed (it is left as it is).
 */
export function createFileOnce(path: string, text: string): boolean {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** Adds a token to the file (creating it, 0600, when absent); returns the token, shown this once. */
export function addToken(file: string, opts: { readOnly: boolean; name: string | null; now?: Date }): NewToken {
  const token = generateToken();
  const text = entry(token, opts.readOnly, opts.name, opts.now ?? new Date());
  let created = createFileOnce(file, text);
  if (!created) {
    let before = '';
    try {
      before = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      created = createFileOnce(file, text);
    }
    // One write with O_APPEND: a reader sees the line whole or not at all.
    if (!created) appendFileSync(file, `${before === '' || before.endsWith('\n') ? '' : '\n'}${text}`, { mode: 0o600 });
  }
  if (created) giveToFolderOwner(file);
  const actor = [...parseTokens(token, 'new').tokens.values()][0]?.actor ?? 'api';
  return { token, readOnly: opts.readOnly, name: opts.name, actor, file, created };
}

/** Root creating a file in the daemon's folder (`sudo bootgate token new`) makes it the daemon's: it must read it. */
export function giveToFolderOwner(file: string): void {
  if (process.getuid?.() !== 0) return;
  const dir = statSync(dirname(file));
  chownSync(file, dir.uid, dir.gid);
}

/** Group or others may read the file: worth a warning wherever a token is added. */
export function looselyReadable(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/**
 * Started as root with server.user set, the daemon reads the file again as that user once it has
 * dropped root (tokens rotate without a restart): the file it writes is that user's.
 */
function giveToServerUser(cfg: Pick<BootgateConfig, 'server'>, path: string): void {
  const user = cfg.server.user;
  if (!user || process.getuid?.() !== 0) return;
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  chownSync(path, id('-u'), id('-g'));
}

/**
 * At start: with no token configured (no BOOTGATE_ADMIN_TOKEN) and no tokens file yet, write one
 * read-write token to the tokens file so the CLI on this host works at once, and log where (never the
 * token). An existing file, even an empty one, is the admin's and is left alone.
 */
export function bootstrapAdminToken(cfg: Pick<BootgateConfig, 'admin' | 'store' | 'server'>, env: NodeJS.ProcessEnv, logger: Logger, now = new Date()): TokensFile | null {
  const file = adminTokensFile(cfg);
  if (!cfg.admin.enabled || file === null) return file;
  if ((env.BOOTGATE_ADMIN_TOKEN ?? '') !== '') return file;
  try {
    const text = `# Admin API tokens of this appliance: one per line, \`:ro\` after a read-only one.\n${entry(generateToken(), false, 'first start', now)}`;
    if (createFileOnce(file.path, text)) {
      giveToServerUser(cfg, file.path);
      logger.info({ file: file.path }, 'wrote a read-write admin API token for the CLI on this host (`bootgate token new` adds more, `bootgate token path` shows this file)');
    }
  } catch (err) {
    logger.warn({ file: file.path, code: (err as NodeJS.ErrnoException).code }, 'cannot write the admin tokens file: admin requests are refused until a token is configured');
  }
  return file;
}
