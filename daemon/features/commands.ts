/**
 * Every admin command of every feature, in one list for the executable (bootgate.ts):
 *   yargs(argv).command(createAdminCommands())
 * Each feature's cli.ts builds its commands on the one connection routine in cli/; tests pass their own io.
 */
import type { CommandModule } from 'yargs';
import { initCommand, processIo, storeCommand, type CliIo } from '../cli/index.js';
import type { FeatureIo } from './feature.js';
import { FEATURES } from './index.js';
import { processPasswordIo, type PasswordCliIo } from './password/cli.js';

export function createAdminCommands(io: CliIo & Partial<Pick<PasswordCliIo, 'readSecret' | 'interactive'>> = processIo()): CommandModule[] {
  // The terminal is looked at only when a password is asked for.
  const withSecrets: FeatureIo = {
    ...io,
    readSecret: (prompt) => (io.readSecret ?? processPasswordIo().readSecret)(prompt),
    get interactive() { return io.readSecret ? io.interactive ?? false : processPasswordIo().interactive; },
  };
  return [...FEATURES.flatMap((f) => f.commands(withSecrets)), initCommand(io) as unknown as CommandModule, storeCommand(io)];
}
