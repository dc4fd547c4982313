/**
 * Every admin command of every feature, in one list for the executable (bootgate.ts):
 *   yargs(argv).command(createAdminCommands())
 * Each feature's cli.ts builds its commands on the one connection routine in cli/; tests pass their own io.
 */
import type { CommandModule } from 'yargs';
import { initCommand, processIo, type CliIo } from '../cli/index.js';
import { createEventsCommand } from './events/cli.js';
import { createInventoryCommands } from './inventory/cli.js';
import { createPasswordCommand, processPasswordIo, type PasswordCliIo } from './password/cli.js';
import { createRolloutCommand } from './rollout/cli.js';
import { createSettingsCommand } from './settings/cli.js';

export function createAdminCommands(io: CliIo & Partial<Pick<PasswordCliIo, 'readSecret' | 'interactive'>> = processIo()): CommandModule[] {
  // The terminal is looked at only when a password is asked for.
  const withSecrets: PasswordCliIo = {
    ...io,
    readSecret: (prompt) => (io.readSecret ?? processPasswordIo().readSecret)(prompt),
    get interactive() { return io.readSecret ? io.interactive ?? false : processPasswordIo().interactive; },
  };
  return [
    ...createInventoryCommands(io),
    createSettingsCommand(io),
    createEventsCommand(io),
    createRolloutCommand(io),
    createPasswordCommand(withSecrets),
    initCommand(io) as unknown as CommandModule,
  ];
}
