import type dgram from 'node:dgram';

/**
 * The OS fd behind a bound dgram socket, or null. Node keeps the handle in an internal slot keyed by
 * `Symbol('state symbol')` (lib/internal/dgram.js, Node 12 to 22); a test pins this for the Node in use,
 * because a miss here silently turns segmentation off.
 */
export function socketFd(sock: dgram.Socket): number | null {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  if (sym === undefined) return null;
  const state = (sock as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[sym];
  const fd = state?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}
