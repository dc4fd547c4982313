/**
 * Plumbing shared by every feature's commands: the one connection routine (API or database), the io
 * and error style, output helpers, and `bootgate init`. It knows no feature; each feature's cli.ts
 * builds its commands on it, and features/commands.ts lists them for the executable.
 */
export { CliError, processIo, report, serviceCall, type BaseIo, type CliIo } from './io.js';
export {
  PROBE_TIMEOUT_MS, commandConfig, configuredApi, connect, connectionOptions, fetchFor, localOptions, probe, runCommand,
  type ApiCaller, type CallOptions, type Connection, type ConnectionArgs, type Output,
} from './connection.js';
export { initCommand } from './init.js';
export { shortTime, table } from './output.js';
export { servedFingerprint, trustingFetch } from './tls-fetch.js';
