/**
 * `bootgate console [-c FILE] [--json]`: where the console is and the SHA-256 fingerprint of the
 * certificate the admin listener serves, read from the files (no daemon needed), so an admin can check
 * what the browser shows on first visit.
 */
import type { CommandModule } from 'yargs';
import { commandConfig, localOptions, type BaseIo } from '../../cli/index.js';
import { adminCertFile, adminListenerUrl } from '../../config/defaults.js';
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
  const certificate = adminCertFile(cfg);
  const fingerprint256 = adminTlsFingerprint(cfg.admin.tls, paths);
  // Where the admin listener is, as the CLI and `bootgate status` find it: HTTPS with admin.port, else the
  // boot listener (at its interface's address when bound to one).
  const at = adminListenerUrl(cfg);
  const url = cfg.admin.enabled && 'base' in at ? `${at.base}/console/` : null;
  const note = fingerprint256 !== null ? (cfg.admin.tls.cert !== null ? 'the certificate of admin.tls.cert' : 'the self-signed certificate made on first start')
    : cfg.admin.tls.cert !== null ? `cannot read ${cfg.admin.tls.cert}` : 'no certificate yet: a self-signed one is made on first start';
  return { url, certificate, fingerprint256, note };
}

export function createConsoleCommand(io: BaseIo): CommandModule {
  const command: CommandModule<object, { config?: string; json?: boolean }> = {
    command: 'console',
    describe: 'where the web console is, and the SHA-256 fingerprint of its TLS certificate',
    builder: (y) => localOptions(y),
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
