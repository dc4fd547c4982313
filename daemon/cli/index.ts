/**
 * The admin commands the `bootgate` CLI registers next to `serve`:
 *   yargs(argv).command(adminCommands)
 */
import { createAdminCommands } from './commands.js';

export { createAdminCommands, processIo, type CliIo } from './commands.js';
export { CliError, connect, type AdminClient } from './client.js';

export const adminCommands = createAdminCommands();
