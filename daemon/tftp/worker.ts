/**
 * Worker thread entry: owns a share of the transfers (each with its own sockets) so a boot storm is not
 * bound by one JavaScript thread. Commands and reports are the TransferHost messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TransferHost, type HostCommand } from './host.js';

interface WorkerInit {
  cacheBytes: number;
  claims: SharedArrayBuffer;
}

const port = parentPort;
if (port === null) throw new Error('daemon/tftp/worker.js must run as a worker thread');
const init = workerData as WorkerInit;
const host = new TransferHost({ cacheBytes: init.cacheBytes, claims: init.claims, emit: (r) => port.postMessage(r), mayBlock: true });
port.on('message', (cmd: HostCommand) => host.handle(cmd));
