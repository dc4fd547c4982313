/**
 * A PostgreSQL stand-in that holds every answer of the database (test/lab/postgres.ts slowProxy), as a
 * process of its own for the DHCP bench: run inside the appliance's namespace, it listens on
 * 127.0.0.1 there and forwards to the cluster's unix socket. It starts without delay (the daemon
 * migrates and loads its snapshot at normal speed) and holds each answer DELAY_MS from SIGUSR1 on.
 * Its port goes to PORT_FILE once it listens.
 *
 *   node dist/bench/pg-slow-proxy.js SOCKET_PATH PORT_FILE [DELAY_MS=2000]
 */
import { writeFileSync } from 'node:fs';
import { slowProxy } from '../test/lab/postgres.js';

const [socketPath, portFile, delayArg] = process.argv.slice(2);
if (!socketPath || !portFile) {
  console.error('usage: pg-slow-proxy SOCKET_PATH PORT_FILE [DELAY_MS]');
  process.exit(2);
}
const delayMs = Number(delayArg ?? 2000);
const proxy = await slowProxy(socketPath);
process.on('SIGUSR1', () => {
  void proxy.setDelay(delayMs).then(() => console.error(`pg-slow-proxy: every answer held ${delayMs} ms from now`));
});
const stop = () => void proxy.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
writeFileSync(portFile, String(proxy.port));
