/**
 * `bootgate status [-c FILE] [--json]`: where the admin listener is, whether the daemon is ready (its
 * /readyz), and, when the admin listener serves HTTPS (admin.port), the SHA-256 fingerprint of the
 * certificate it serves, read over a connection that trusts exactly the configured or self-signed
 * certificate: what an admin compares with the browser's on first visit.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { CliError, commandConfig, fetchFor, localOptions, report, servedFingerprint, type BaseIo } from '../../cli/index.js';
import { adminListenerUrl } from '../../config/defaults.js';
import { adminTlsFingerprint, selfSignedPaths } from '../../http/tls.js';

export interface StatusInfo {
  /** The admin listener's URL (the boot listener's when admin.port is unset), or why there is none. */
  admin: string | null;
  why?: string;
  ready: boolean | null;
  checks: Record<string, string>;
  problem?: string;
  /** Present when the admin listener serves HTTPS. */
  tls?: { certificate: string | null; fingerprint256: string | null; served: boolean; problem?: string };
}

const TIMEOUT_MS = 5000;

export async function statusInfo(args: { config?: string | undefined }, io: BaseIo): Promise<StatusInfo> {
  const { cfg } = commandConfig(args, io);
  const at = adminListenerUrl(cfg);
  if (!('base' in at)) return { admin: null, why: at.none, ready: null, checks: {} };
  const info: StatusInfo = { admin: at.base, ready: null, checks: {} };
  const https = at.base.startsWith('https:');
  if (https) {
    const certificate = at.ca ?? null;
    const fromFile = adminTlsFingerprint(cfg.admin.tls, selfSignedPaths(cfg.store.path));
    info.tls = { certificate, fingerprint256: fromFile, served: false };
    if (certificate === null || !existsSync(certificate)) {
      info.tls.problem = certificate === null ? 'the store is in memory: the certificate is made per start and not kept' : `no ${certificate} yet: the daemon makes it on first start`;
    } else {
      const url = new URL(at.base);
      try {
        info.tls.fingerprint256 = await servedFingerprint(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port), readFileSync(certificate, 'utf8'), TIMEOUT_MS);
        info.tls.served = true;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        info.tls.problem = `the admin listener did not present ${certificate}: ${e.code ?? e.message}`;
      }
    }
  }
  try {
    const res = await fetchFor(at.base, at.ca, io)(`${at.base}/readyz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await res.json()) as { ready?: boolean; checks?: Record<string, string> };
    info.ready = res.status === 200 && body.ready === true;
    info.checks = body.checks ?? {};
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as { cause?: { code?: string; message?: string }; message: string };
    info.problem = `the daemon does not answer at ${at.base}: ${e.cause?.code ?? e.cause?.message ?? e.message}`;
  }
  return info;
}

function statusText(s: StatusInfo): string {
  if (s.admin === null) return `admin listener: none (${s.why ?? ''})\n`;
  const failing = Object.entries(s.checks).filter(([, v]) => v !== 'ok').map(([k, v]) => `${k}: ${v}`);
  const lines = [
    `admin listener: ${s.admin}`,
    `ready:          ${s.ready === null ? `unknown (${s.problem ?? ''})` : s.ready ? 'yes' : `no (${failing.join('; ') || 'see /readyz'})`}`,
  ];
  if (s.tls) {
    lines.push(`certificate:    ${s.tls.certificate ?? '-'}`);
    lines.push(`SHA-256:        ${s.tls.fingerprint256 ?? '-'} (${s.tls.served ? 'served by the admin listener' : s.tls.problem ?? ''})`);
  }
  return `${lines.join('\n')}\n`;
}

export function createStatusCommand(io: BaseIo): CommandModule {
  const command: CommandModule<object, { config?: string; json?: boolean }> = {
    command: 'status',
    describe: 'is the daemon ready, where is its admin listener, and the SHA-256 fingerprint of its TLS certificate',
    builder: (y) => localOptions(y),
    handler: async (a) => {
      try {
        const info = await statusInfo(a, io);
        io.out(a.json ? `${JSON.stringify(info, null, 2)}\n` : statusText(info));
        if (info.ready !== true) io.setExitCode(1);
      } catch (err) {
        report(io, err);
      }
    },
  };
  return command as unknown as CommandModule;
}
