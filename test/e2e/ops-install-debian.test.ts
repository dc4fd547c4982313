/**
 * The README's install path on a clean Debian: a Debian 13 root made with debootstrap (no Node.js, no
 * compiler), then exactly the README's commands in a chroot: the distribution's nodejs and npm (Node 20
 * on Debian 13) with the build tools better-sqlite3 falls back to, the package built by `npm pack` from
 * a clean checkout of the committed tree, `npm install -g --prefix /usr/local` of that tarball, and
 * then `bootgate --version` on the PATH prints the package's version, `command -v bootgate` is the path
 * the systemd unit runs, and `bootgate init` opens a database (the native addon loads).
 *
 * The chroot's mounts (proc, the caches) live in a private mount namespace (`unshare -m`): they vanish
 * with it, whatever happens to the test. Downloads are cached between runs (debootstrap's .debs, apt's
 * archives, npm's cache) under BOOTGATE_E2E_CACHE or /var/tmp/bootgate-e2e-cache; the root itself is
 * made anew each run and removed afterwards. The mirror is BOOTGATE_DEBIAN_MIRROR or deb.debian.org.
 * The host's extra CA certificates and proxy variables are carried into the chroot, as a site behind a
 * TLS-inspecting proxy would configure a new machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../unit/helpers/ops-catalogue.js';
import { runCommand } from '../lab/procs.js';

const REF = process.env.BOOTGATE_OPS_REF ?? 'HEAD';
const SUITE = 'trixie';
const MIRROR = process.env.BOOTGATE_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const CACHE = process.env.BOOTGATE_E2E_CACHE ?? '/var/tmp/bootgate-e2e-cache';
const MINUTE = 60_000;

/** The README's commands, each of which must appear in it verbatim (README: "Install on a VM"). */
export const README_STEPS = {
  node: 'apt-get install -y nodejs npm python3 make g++',
  pack: 'npm ci && npm pack',
  install: 'npm install -g --prefix /usr/local ./bootgate-*.tgz',
  version: 'bootgate --version',
};
/** Where the systemd unit expects the command (deploy/bootgate.service's ExecStart). */
const BIN = '/usr/local/bin/bootgate';

function missing(): string[] {
  const out: string[] = [];
  if (process.getuid?.() !== 0) out.push('root privileges (debootstrap, chroot)');
  for (const [prog, pkg] of [['debootstrap', 'debootstrap'], ['unshare', 'util-linux'], ['chroot', 'coreutils'], ['git', 'git']]) {
    try {
      execFileSync('sh', ['-c', `command -v ${prog}`], { stdio: 'ignore' });
    } catch {
      out.push(`${prog} (Debian package ${pkg})`);
    }
  }
  return out;
}

/** Only the variables a site's machine would have set for the network: proxies and the CA bundle. */
function networkEnv(): string[] {
  const keep = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
  const out = keep.flatMap((k) => (process.env[k] ? [`${k}=${process.env[k]}`] : []));
  // The chroot's own bundle, which update-ca-certificates fills with the host's extra certificates.
  if (process.env.NODE_EXTRA_CA_CERTS) out.push('NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
  return out;
}

/**
 * Runs `script` as root in the chroot, with proc and the caches mounted in a private mount namespace.
 * Output goes to `log` (appended), and the command's stdout is returned.
 */
async function inChroot(root: string, script: string, timeoutMs: number): Promise<string> {
  const mounts = [
    `mount -t proc proc ${root}/proc`,
    `mount --bind ${CACHE}/apt ${root}/var/cache/apt/archives`,
    `mkdir -p ${root}/root/.npm && mount --bind ${CACHE}/npm ${root}/root/.npm`,
  ].join(' && ');
  const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8', 'DEBIAN_FRONTEND=noninteractive', ...networkEnv()];
  const inner = `${mounts} && exec chroot ${root} /usr/bin/env -i ${env.map((e) => `'${e.replace(/'/g, `'\\''`)}'`).join(' ')} /bin/sh -ec "$1"`;
  const r = await runCommand(['unshare', '-m', '--propagation', 'private', 'sh', '-ec', inner, 'sh', script], { timeoutMs });
  return r.stdout;
}

test('install on a clean Debian 13 as the README says: bootgate --version on the PATH', { timeout: 40 * MINUTE }, async (t) => {
  assert.deepEqual(missing(), [], 'prerequisites');
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  for (const [name, cmd] of Object.entries(README_STEPS)) assert.ok(readme.includes(cmd), `README's ${name} step is not "${cmd}"`);
  const unit = readFileSync(join(REPO, 'deploy/bootgate.service'), 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${BIN} serve `, 'm'), 'the systemd unit runs the installed command');

  for (const d of ['debootstrap', 'apt', 'npm']) mkdirSync(join(CACHE, d), { recursive: true });
  const work = mkdtempSync('/var/tmp/bgops-install-');
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // 1. The package, from a clean checkout of the committed tree. `npm ci` there would fetch and compile
  //    what node_modules already holds; the repository's node_modules stands in for it.
  const src = join(work, 'src');
  mkdirSync(src);
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', REPO, REF, src]);
  symlinkSync(join(REPO, 'node_modules'), join(src, 'node_modules'));
  await runCommand(['npm', 'pack', '--pack-destination', work], { cwd: src, timeoutMs: 10 * MINUTE });
  const version = (JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { version: string }).version;
  const tarball = `bootgate-${version}.tgz`;
  assert.ok(existsSync(join(work, tarball)), `npm pack made ${tarball}`);
  const listing = execFileSync('tar', ['-tzf', join(work, tarball)], { encoding: 'utf8' }).split('\n');
  assert.ok(listing.includes('package/dist/daemon/bootgate.js'), 'the tarball holds the daemon');
  assert.ok(listing.includes('package/npm-shrinkwrap.json'), 'the tarball pins the tested dependency versions');
  assert.deepEqual(listing.filter((f) => /^package\/(dist\/)?(test|bench)\//.test(f)), [], 'no tests or benchmarks in the tarball');

  // 2. A clean Debian root: no Node.js, no compiler.
  const root = join(work, 'root');
  await runCommand(['debootstrap', '--variant=minbase', `--cache-dir=${join(CACHE, 'debootstrap')}`, SUITE, root, MIRROR], { timeoutMs: 20 * MINUTE });
  assert.equal(existsSync(join(root, 'usr/bin/node')), false, 'the fresh root has no node');
  copyFileSync('/etc/resolv.conf', join(root, 'etc/resolv.conf'));
  const extraCa = '/usr/local/share/ca-certificates';
  if (existsSync(extraCa)) {
    mkdirSync(join(root, extraCa), { recursive: true });
    for (const f of readdirSync(extraCa).filter((n) => n.endsWith('.crt'))) copyFileSync(join(extraCa, f), join(root, 'usr/local/share/ca-certificates', f));
  }
  writeFileSync(join(root, 'etc/apt/sources.list'), `deb ${MIRROR} ${SUITE} main\n`);
  copyFileSync(join(work, tarball), join(root, 'root', tarball));

  // 3. The README's steps, in the chroot, as root (the README's sudo).
  const out = await inChroot(root, [
    'apt-get update -q >/dev/null',
    `${README_STEPS.node} --no-install-recommends -q >/dev/null`,
    'update-ca-certificates >/dev/null 2>&1',
    'echo "node=$(node --version)"',
    'cd /root',
    `${README_STEPS.install} >/dev/null`,
    'echo "bin=$(command -v bootgate)"',
    `echo "version=$(${README_STEPS.version})"`,
    'bootgate init --db /root/check.db',
  ].join('\n'), 30 * MINUTE);
  t.diagnostic(out.trim().replace(/\n/g, ' | '));
  const node = /^node=v(\d+)\./m.exec(out);
  assert.ok(node && Number(node[1]) >= 20, `the distribution's node is 20 or newer: ${out}`);
  assert.match(out, new RegExp(`^bin=${BIN}$`, 'm'));
  assert.match(out, new RegExp(`^version=${version.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(out, /^created database \/root\/check\.db \(schema version \d+\)$/m);
});
