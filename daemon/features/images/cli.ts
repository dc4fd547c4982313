/**
 * `bootgate image add SOURCE --name NAME [--arch x64|x86|arm64]`, `image list`, `image show NAME`,
 * `image verify NAME`, `image remove NAME`. They work on the boot root's files (the config's `root`, or
 * `--root`), with or without a running daemon: an image is picked up when a profile names it and the
 * configuration is (re)loaded.
 */
import type { Argv, CommandModule } from 'yargs';
import { CliError, commandConfig, report, table, type BaseIo } from '../../cli/index.js';
import type { BootgateConfig } from '../../config/schema.js';
import { ImageRefused, ImageService } from './service.js';
import { bcdText, imageText, terminalProgress } from './format.js';
import type { AddOptions, Progress } from './add.js';
import type { ImageArch } from './source.js';

interface ImageArgs { config?: string; root?: string; json?: boolean }

export interface ImageCliIo extends BaseIo {
  /** Progress for long copies and hashes: a terminal line on stderr, only when stderr is a TTY. */
  progress?: Progress;
  freeBytes?: AddOptions['freeBytes'];
}

function options<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML config file: its root and tftp limits' })
    .option('root', { type: 'string', describe: 'boot root (default: the config\'s root)' })
    .option('json', { type: 'boolean', describe: 'print JSON' });
}

function service(io: ImageCliIo, a: ImageArgs): ImageService {
  const { cfg } = commandConfig(a, io);
  const conf: BootgateConfig = a.root ? { ...cfg, root: a.root } : cfg;
  const progress = io.progress ?? terminalProgress();
  return new ImageService(() => conf, { ...(progress ? { progress } : {}), ...(io.freeBytes ? { freeBytes: io.freeBytes } : {}) });
}

function run<A extends ImageArgs>(io: ImageCliIo, fn: (s: ImageService, a: A) => Promise<{ json: unknown; text: string }>) {
  return async (a: A) => {
    try {
      const out = await fn(service(io, a), a);
      io.out(a.json ? `${JSON.stringify(out.json, null, 2)}\n` : out.text);
    } catch (err) {
      report(io, err instanceof ImageRefused ? new CliError(err.message, err.problems) : err);
    }
  };
}

type AddArgs = ImageArgs & { source: string; name: string; arch?: ImageArch };
type NameArgs = ImageArgs & { name: string };

export function createImageCommand(io: ImageCliIo): CommandModule {
  return {
    command: 'image',
    describe: 'Windows PE boot images: add from an ISO, ADK media folder or boot.wim; list, show, verify, remove',
    builder: (y) => options(y)
      .command<AddArgs>('add <source>', 'add an image (its own folder under images/, BCD written for network boot)',
        (b) => b.positional('source', { type: 'string', demandOption: true, describe: 'WinPE ISO, ADK/copype media folder, or boot.wim' })
          .option('name', { type: 'string', demandOption: true, describe: 'image name (a new version is a new name)' })
          .option('arch', { choices: ['x64', 'x86', 'arm64'] as const, describe: 'architecture, when the WIM does not say' }),
        run(io, async (s, a: AddArgs) => {
          const m = await s.add(a.source, a.name, a.arch);
          return { json: m, text: `added image ${m.name} (${m.arch}, ${m.files.length} files)\n${imageText(m, [])}` };
        }))
      .command<ImageArgs>('list', 'list the images and the profiles using each', (b) => b,
        run(io, async (s) => {
          const list = s.list();
          const rows = list.map((i) => [i.name, i.arch, i.version ?? '', i.sourceKind, `${(i.bytes / 1048576).toFixed(1)} MiB`, i.addedAt, i.usedBy.join(',')]);
          return { json: list, text: list.length === 0 ? 'no images\n' : table(['name', 'arch', 'version', 'from', 'size', 'added', 'profiles'], rows) };
        }))
      .command<NameArgs>('show <name>', 'show an image and what its BCD says', (b) => b.positional('name', { type: 'string', demandOption: true }),
        run(io, async (s, a: NameArgs) => {
          const r = await s.show(a.name);
          return { json: r, text: `${imageText(r.manifest, r.usedBy)}${bcdText('BIOS', r.bcd.bios)}${bcdText('UEFI', r.bcd.uefi)}` };
        }))
      .command<NameArgs>('verify <name>', 'check every file against its SHA-256 in the manifest', (b) => b.positional('name', { type: 'string', demandOption: true }),
        run(io, async (s, a: NameArgs) => {
          const r = await s.verify(a.name);
          if (!r.ok) throw new CliError(`image ${a.name}: ${r.problems.length} of ${r.checked} files differ from the manifest`, r.problems);
          return { json: r, text: `image ${a.name}: ${r.checked} files match the manifest\n` };
        }))
      .command<NameArgs>('remove <name>', 'remove an image (refused while a profile uses it)', (b) => b.positional('name', { type: 'string', demandOption: true }),
        run(io, async (s, a: NameArgs) => {
          await s.remove(a.name);
          return { json: { removed: a.name }, text: `removed image ${a.name}\n` };
        }))
      .demandCommand(1),
    handler: () => undefined,
  };
}
