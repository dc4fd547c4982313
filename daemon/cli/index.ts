/**
 * The admin commands the `bootgate` CLI registers next to `serve`:
 *   yargs(argv).command(adminCommands)
 */
import { createAdminCommands } from '../features/inventory/cli.js';

export { createAdminCommands, processIo, type CliIo } from '../features/inventory/cli.js';
export { CliError, connect, type AdminClient } from './client.js';

export const adminCommands = createAdminCommands();
