/**
 * What the boot root may hand out as it is. Scripts the daemon renders per client (`*.ipxe` and any
 * profile's template file) are served only rendered, through `ipxe/<mac>.ipxe`: served raw they would
 * show `{{http}}` placeholders and whatever a template keeps out of the per-client text. Hidden files
 * (`.git`, editor swap files, `.htpasswd`) are never boot files.
 */

/** Lower case, forward slashes, no leading or repeated separators: how two names of one file compare. */
export function normalisedPath(path: string): string {
  return path.replace(/\\/g, '/').split('/').filter((c) => c.length > 0 && c !== '.').join('/').toLowerCase();
}

/** Why `path` is not served raw, or null when it may be. `templates` are the profiles' template files. */
export function notServedReason(path: string, templates: readonly string[]): 'hidden' | 'template' | null {
  const norm = normalisedPath(path);
  if (norm.split('/').some((c) => c.startsWith('.'))) return 'hidden';
  if (norm.endsWith('.ipxe')) return 'template';
  if (templates.some((t) => normalisedPath(t) === norm)) return 'template';
  return null;
}
