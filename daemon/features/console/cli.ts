/**
 * `bootgate console [-c FILE] [--json]`: where the console is and the SHA-256 fingerprint of the
 * certificate the admin listener serves, read from the files (no daemon needed), so an admin can check
 * what the browser shows on first visit.
 */
import type { CommandModule } from 'yargs';
import { commandConfig, type BaseIo } from '../../cli/index.js';
import type { BootgateConfig } from '../../config/schema.js';
import { adminTlsFingerprint, selfSignedPaths } from '../../http/tls.js';

export interface ConsoleInfo {
  url: string | null;
  certificate: string | null;
  fingerprint256: string | null;
  note: string;
}

export function consoleInfo(cfg: BootgateConfig): ConsoleInfo {
  const paths = selfSignedPaths(cfg.store.path);
  const certificate = cfg.admin.tls.cert ?? paths?.cert ?? null;
  const fingerprint256 = adminTlsFingerprint(cfg.admin.tls, paths);
  // With admin.port the admin listener serves it over HTTPS; else the boot listener, in plain HTTP.
  const address = cfg.admin.port !== null ? cfg.admin.address ?? cfg.http.address : cfg.http.address;
  const host = address === '0.0.0.0' || address === '::' ? 'THIS-HOST' : address;
  const url = !cfg.admin.enabled ? null
    : cfg.admin.port !== null ? `https://${host}:${cfg.admin.port}/console/`
    : cfg.http.enabled ? `http://${host}:${cfg.http.port}/console/` : null;
  const note = fingerprint256 !== null ? (cfg.admin.tls.cert !== null ? 'the certificate of admin.tls.cert' : 'the self-signed certificate made on first start')
    : cfg.admin.tls.cert !== null ? `cannot read ${cfg.admin.tls.cert}` : 'no certificate yet: a self-signed one is made on first start';
  return { url, certificate, fingerprint256, note };
}

export function createConsoleCommand(io: BaseIo): CommandModule {
  const command: CommandModule<object, { config?: string; json?: boolean }> = {
    command: 'console',
    describe: 'where the web console is, and the SHA-256 fingerprint of its TLS certificate',
    builder: (y) => y
      .option('config', { alias: 'c', type: 'string', describe: 'YAML config file' })
      .option('json', { type: 'boolean', describe: 'print JSON' }),
    handler: (a) => {
      const info = consoleInfo(commandConfig(a, io).cfg);
      if (a.json) {
        io.out(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      io.out([
        `console:     ${info.url ?? 'off (admin.enabled or http.enabled is false)'}`,
        `certificate: ${info.certificate ?? '-'}`,
        `SHA-256:     ${info.fingerprint256 ?? '-'} (${info.note})`,
        '',
      ].join('\n'));
    },
  };
  return command as unknown as CommandModule;
}
