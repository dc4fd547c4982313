/**
 * Boot assets for the lab, built from Debian packages and cached under <repo>/.lab/assets
 * (git-ignored), rebuilt when missing:
 *   vmlinuz      from linux-image-<abi>-amd64, the package linux-image-amd64 depends on
 *   modules/     the virtio-net modules and their dependencies from the same package
 *   initrd.img   busybox-static + those modules + an /init printing the marker (initramfs.ts)
 *
 * Needs apt-get, dpkg-deb and /bin/busybox from busybox-static. `apt-get download` works as any
 * user and installs nothing; when the package lists are missing it runs `apt-get update` once.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './procs.js';
import { ROOT_MODULES, buildInitramfs, indexModules, initScript, isStaticElf, moduleClosure } from './initramfs.js';

export interface LabAssets {
  dir: string;
  kernel: string;
  initrd: string;
  kernelPackage: string;
  kernelVersion: string;
  modules: string[];
}

interface Manifest {
  kernelPackage: string;
  kernelVersion: string;
  modules: string[];
  initHash: string;
}

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** <repo>/.lab/assets, found from this file's place in dist/test/lab (or test/lab). */
export function defaultAssetsDir(): string {
  if (process.env.BOOTGATE_LAB_ASSETS) return resolve(process.env.BOOTGATE_LAB_ASSETS);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json) above test/lab');
    dir = up;
  }
  return join(dir, '.lab', 'assets');
}

export function findStaticBusybox(): string {
  for (const p of BUSYBOX_CANDIDATES) {
    if (existsSync(p) && isStaticElf(readFileSync(p))) return p;
  }
  throw new Error(`no static busybox at ${BUSYBOX_CANDIDATES.join(' or ')}: install the Debian package busybox-static`);
}

function initHash(modules: readonly string[], busybox: string): string {
  return createHash('sha256').update(initScript(modules)).update(readFileSync(busybox)).digest('hex').slice(0, 16);
}

async function aptDownload(spec: string, cwd: string): Promise<void> {
  // Download as root into a private directory: tell apt not to drop to the _apt user it cannot write as.
  const argv = ['apt-get', '-q', '-o', 'APT::Sandbox::User=root', 'download', spec];
  try {
    await runCommand(argv, { cwd, timeoutMs: 300_000 });
  } catch (err) {
    if (!/Unable to locate|no installation candidate|Can't select/i.test(String(err))) throw err;
    await runCommand(['apt-get', '-q', 'update'], { timeoutMs: 300_000 });
    await runCommand(argv, { cwd, timeoutMs: 300_000 });
  }
}

function onlyDeb(dir: string, prefix: string): string {
  const deb = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download left no ${prefix}*.deb in ${dir}`);
  return join(dir, deb);
}

/** linux-image-amd64 is a metapackage: its first dependency names the real, versioned kernel package. */
async function downloadKernelDeb(work: string): Promise<{ deb: string; pkg: string; version: string }> {
  await aptDownload('linux-image-amd64', work);
  const meta = onlyDeb(work, 'linux-image-amd64_');
  const { stdout } = await runCommand(['dpkg-deb', '-f', meta, 'Depends']);
  const m = /(linux-image-[0-9][^\s,|()]*)\s*(?:\(=\s*([^)\s]+)\))?/.exec(stdout);
  if (!m?.[1]) throw new Error(`linux-image-amd64 depends on no versioned kernel: "${stdout.trim()}"`);
  const pkg = m[1];
  await aptDownload(m[2] ? `${pkg}=${m[2]}` : pkg, work);
  const deb = onlyDeb(work, `${pkg}_`);
  const version = (await runCommand(['dpkg-deb', '-f', deb, 'Version'])).stdout.trim();
  return { deb, pkg, version };
}

/** Downloads the kernel package and copies vmlinuz and the needed modules into out/. */
async function fetchKernel(out: string): Promise<{ pkg: string; version: string; modules: string[] }> {
  const work = mkdtempSync(join(dirname(out), 'fetch-'));
  try {
    const { deb, pkg, version } = await downloadKernelDeb(work);
    const tree = join(work, 'tree');
    await runCommand(['dpkg-deb', '-x', deb, tree], { timeoutMs: 300_000 });
    const vmlinuz = readdirSync(join(tree, 'boot')).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`${pkg} has no /boot/vmlinuz-*`);
    copyFileSync(join(tree, 'boot', vmlinuz), join(out, 'vmlinuz'));
    const abi = vmlinuz.slice('vmlinuz-'.length);
    const index = indexModules(join(tree, 'lib', 'modules', abi));
    const modules = moduleClosure(ROOT_MODULES, (name) => {
      const p = index.get(name);
      return p ? readFileSync(p) : undefined;
    });
    mkdirSync(join(out, 'modules'), { recursive: true });
    for (const name of modules) copyFileSync(index.get(name) as string, join(out, 'modules', `${name}.ko`));
    return { pkg, version, modules };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function readManifest(dir: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const complete = existsSync(join(dir, 'vmlinuz')) && m.modules.every((n) => existsSync(join(dir, 'modules', `${n}.ko`)));
    return complete ? m : null;
  } catch {
    return null;
  }
}

function writeInitrd(dir: string, modules: readonly string[], busybox: string): void {
  const img = buildInitramfs(busybox, modules.map((name) => ({ name, path: join(dir, 'modules', `${name}.ko`) })));
  writeFileSync(join(dir, 'initrd.img.tmp'), img);
  renameSync(join(dir, 'initrd.img.tmp'), join(dir, 'initrd.img'));
}

/**
 * Returns the cached assets, building what is missing. The kernel is fetched into a temporary
 * directory that replaces the cache only when complete, so a failed or concurrent build never
 * leaves a half-written cache behind.
 */
export async function ensureAssets(dir = defaultAssetsDir()): Promise<LabAssets> {
  const busybox = findStaticBusybox();
  mkdirSync(dirname(dir), { recursive: true });
  let manifest = readManifest(dir);
  if (!manifest) {
    const staging = mkdtempSync(`${dir}.staging-`);
    try {
      const k = await fetchKernel(staging);
      manifest = { kernelPackage: k.pkg, kernelVersion: k.version, modules: k.modules, initHash: '' };
      writeFileSync(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const hash = initHash(manifest.modules, busybox);
  if (manifest.initHash !== hash || !existsSync(join(dir, 'initrd.img'))) {
    writeInitrd(dir, manifest.modules, busybox);
    manifest = { ...manifest, initHash: hash };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  }
  return {
    dir,
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    kernelPackage: manifest.kernelPackage,
    kernelVersion: manifest.kernelVersion,
    modules: manifest.modules,
  };
}
