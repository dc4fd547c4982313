/**
 * Worker thread entry: owns a share of the transfers (each with its own sockets) so a boot storm is not
 * bound by one JavaScript thread. Commands and reports are the TransferHost messages.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { TransferHost, type HostCommand } from './host.js';

interface WorkerInit {
  cacheBytes: number;
  claims: SharedArrayBuffer;
}

const port = parentPort;
if (port === null) throw new Error('daemon/tftp/worker.js must run as a worker thread');
const init = workerData as WorkerInit;
/** Messages already queued, taken in order; the 'message' listener below gets only the ones left. */
function takeCommands(): HostCommand[] {
  const out: HostCommand[] = [];
  for (let m = receiveMessageOnPort(port as MessagePort); m !== undefined; m = receiveMessageOnPort(port as MessagePort)) out.push(m.message as HostCommand);
  return out;
}
const host = new TransferHost({ cacheBytes: init.cacheBytes, claims: init.claims, emit: (r) => port.postMessage(r), mayBlock: true, takeCommands });
port.on('message', (cmd: HostCommand) => host.handle(cmd));
