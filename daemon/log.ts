/**
 * pino with the product's fixed keys: mac, xid, iface, arch, client, decision, reason, file.
 * Secrets never reach a log line: the redact list is the last line of defence, the first is not passing them.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'bootgate' },
      redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'req.headers.authorization'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * Logs at most `perWindow` lines per `windowMs` for one kind of event (e.g. undecodable packets),
 * then one summary line saying how many were suppressed, so a flood cannot fill the disk.
 */
export function rateLimited(windowMs: number, perWindow: number, now: () => number = Date.now) {
  let windowStart = 0;
  let count = 0;
  let suppressed = 0;
  return (log: (suppressedBefore: number) => void): boolean => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      count = 0;
    }
    if (count >= perWindow) {
      suppressed += 1;
      return false;
    }
    count += 1;
    const s = suppressed;
    suppressed = 0;
    log(s);
    return true;
  };
}
