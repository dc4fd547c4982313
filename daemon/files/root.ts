/**
 * Root confinement for every file the appliance serves (TFTP and HTTP): a requested name either resolves
 * to a regular file whose real path is inside the boot root, or it is refused with a reason.
 *
 * Windows boot manager asks for `\Boot\BCD`, `\boot\x64\wdsnbp.com` and the like: backslashes are
 * separators, a leading separator means the root, and when the exact name does not exist each path
 * component is matched case-insensitively (an admin's tree rarely has the case bootmgr asks for).
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

export type Resolved =
  | { ok: true; abs: string; rel: string }
  | { ok: false; reason: 'traversal' | 'not-found' | 'not-file' | 'access' };

type Refusal = Extract<Resolved, { ok: false }>;

const refuse = (reason: Refusal['reason']): Refusal => ({ ok: false, reason });

/** Decodes %XX escapes (repeatedly, for double encoding) only to look for hidden separators or dots. */
function percentDecoded(s: string): string {
  let cur = s;
  for (let i = 0; i < 3 && /%[0-9a-fA-F]{2}/.test(cur); i++) {
    cur = cur.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  return cur;
}

function hasDotDot(path: string): boolean {
  return path.split(/[\\/]+/).some((c) => c === '..');
}

/**
 * Splits a request into root-relative components, or returns a refusal. Leading separators mean the
 * root; an absolute path that already names the root (pxelinux-style clients) is made relative to it.
 */
export function requestComponents(root: string, requested: string): string[] | Refusal {
  if (requested.includes('\0')) return refuse('traversal');
  const decoded = percentDecoded(requested);
  if (decoded !== requested && (hasDotDot(decoded) || decoded.includes('\0'))) return refuse('traversal');
  let path = requested.replace(/\\/g, '/');
  // A drive letter or a Windows device path can only mean "outside the root".
  if (/^[A-Za-z]:/.test(path) || path.startsWith('//?/') || path.startsWith('//./')) return refuse('traversal');
  const rootSlash = root.replace(/\\/g, '/').replace(/\/+$/, '');
  if (rootSlash.length > 0 && isAbsolute(root) && (path === rootSlash || path.startsWith(rootSlash + '/'))) {
    path = path.slice(rootSlash.length);
  }
  const parts = path.split('/').filter((c) => c.length > 0 && c !== '.');
  if (parts.some((c) => c === '..')) return refuse('traversal');
  return parts;
}

function errorReason(err: unknown): Refusal['reason'] {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'access';
  if (code === 'ELOOP') return 'traversal';
  return 'not-found';
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Finds each component exactly, else case-insensitively (the first match in name order, for determinism). */
async function walk(realRoot: string, parts: string[]): Promise<string | Refusal> {
  let cur = realRoot;
  for (const part of parts) {
    const exact = join(cur, part);
    if (await exists(exact)) {
      cur = exact;
      continue;
    }
    let names: string[];
    try {
      names = await readdir(cur);
    } catch (err) {
      return refuse(errorReason(err));
    }
    const lower = part.toLowerCase();
    const match = names.filter((n) => n.toLowerCase() === lower).sort()[0];
    if (match === undefined) return refuse('not-found');
    cur = join(cur, match);
  }
  return cur;
}

function inside(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

/**
 * Resolves `requested` inside `root`. `abs` is the real path to open (no symlink left in it); `rel` is
 * the path inside the root with the names as they exist on disk, joined with '/'.
 */
export async function resolveInRoot(root: string, requested: string): Promise<Resolved> {
  const parts = requestComponents(root, requested);
  if (!Array.isArray(parts)) return parts;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (err) {
    return refuse(errorReason(err));
  }
  if (parts.length === 0) return refuse('not-file');
  const found = await walk(realRoot, parts);
  if (typeof found !== 'string') return found;
  let real: string;
  try {
    real = await realpath(found);
  } catch (err) {
    return refuse(errorReason(err));
  }
  // A symlink (anywhere on the way) whose target leaves the root is refused, whatever it points at.
  if (!inside(realRoot, real)) return refuse('traversal');
  try {
    const st = await stat(real);
    if (!st.isFile()) return refuse('not-file');
  } catch (err) {
    return refuse(errorReason(err));
  }
  return { ok: true, abs: real, rel: relative(realRoot, found).split(sep).join('/') };
}
