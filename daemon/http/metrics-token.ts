import type { BootgateConfig } from '../config/schema.js';
import { readFileSync } from 'node:fs';

/** The /metrics token from http.metricsTokenFile: its first non-empty line. A missing or empty file is an error, never an open endpoint. */
export function readMetricsToken(cfg: BootgateConfig): string | null {
  const file = cfg.http.metricsTokenFile;
  if (file === null) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`http.metricsTokenFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const token = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
  if (!token) throw new Error(`http.metricsTokenFile: ${file} holds no token`);
  return token;
}
