/**
 * Starts Bootgate's TFTP engine alone (no DHCP, no policy), for the benchmark and the lossy-link interop
 * run: `node dist/bench/tftp-server.js --root DIR --address IP --port N [--workers N] [--cache-bytes N]
 * [--block-size-max N] [--window-size-max N] [--sessions-max N] [--sessions-per-client-max N] [--log-level L] [--no-gso] [--min-rto-ms N] [--lockstep-spin-us N] [--no-lockstep-sync] [--no-direct-io]`. Prints `listening PORT` when ready, then
 * `rss-peak BYTES` on SIGTERM/SIGINT, and exits.
 */
import { parseArgs } from 'node:util';
import { validateConfig } from '../daemon/config/load.js';
import { createLogger } from '../daemon/log.js';
import { createMetrics } from '../daemon/metrics.js';
import { startTftpServer } from '../daemon/tftp/server.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    address: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '69' },
    workers: { type: 'string' },
    'cache-bytes': { type: 'string' },
    'block-size-max': { type: 'string' },
    'window-size-max': { type: 'string' },
    'sessions-max': { type: 'string' },
    'sessions-per-client-max': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    'no-gso': { type: 'boolean', default: false },
    'min-rto-ms': { type: 'string' },
    'lockstep-spin-us': { type: 'string' },
    'no-lockstep-sync': { type: 'boolean', default: false },
    'no-direct-io': { type: 'boolean', default: false },
  },
});
if (values.root === undefined) {
  process.stderr.write('usage: tftp-server --root DIR [--address IP] [--port N] [--workers N] [--cache-bytes N]\n');
  process.exit(2);
}
const tftp: Record<string, number> = {};
if (values.workers !== undefined) tftp.workers = Number(values.workers);
if (values['cache-bytes'] !== undefined) tftp.cacheBytes = Number(values['cache-bytes']);
if (values['block-size-max'] !== undefined) tftp.blockSizeMax = Number(values['block-size-max']);
if (values['window-size-max'] !== undefined) tftp.windowSizeMax = Number(values['window-size-max']);
if (values['sessions-max'] !== undefined) tftp.sessionsMax = Number(values['sessions-max']);
if (values['sessions-per-client-max'] !== undefined) tftp.sessionsPerClientMax = Number(values['sessions-per-client-max']);
const config = validateConfig({ tftp }, 'tftp-server flags');
const logger = createLogger(values['log-level'] ?? 'warn');
const metrics = createMetrics();
const server = await startTftpServer({
  root: values.root, address: values.address ?? '127.0.0.1', port: Number(values.port), config: config.tftp, logger, metrics,
  segmentation: values['no-gso'] !== true,
  // As the daemon starts its engine: workers warmed before the first request.
  warmUp: true,
  ...(values['min-rto-ms'] !== undefined ? { minRtoMs: Number(values['min-rto-ms']) } : {}),
  ...(values['lockstep-spin-us'] !== undefined ? { lockstepSpinUs: Number(values['lockstep-spin-us']) } : {}),
  ...(values['no-lockstep-sync'] === true ? { lockstepSpinUs: null } : {}),
  ...(values['no-direct-io'] === true ? { directIo: false } : {}),
});
let peak = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 100);
process.stdout.write(`listening ${server.port}\n`);
const stop = async () => {
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  await server.close(0);
  const transfers = await metrics.tftpTransfers.get();
  const retransmits = await metrics.tftpRetransmits.get();
  process.stdout.write(`rss-peak ${peak}\n`);
  process.stdout.write(`transfers ${JSON.stringify(transfers.values.map((v) => [v.labels.result, v.value]))}\n`);
  process.stdout.write(`retransmits ${retransmits.values[0]?.value ?? 0}\n`);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
