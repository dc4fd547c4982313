/**
 * The Dockerfile's shape, read without a Docker engine: multi-stage on node:20-bookworm-slim, a
 * production-only runtime stage as a non-root user, the volumes, a HEALTHCHECK on /readyz through
 * node, the CLI as entrypoint, every COPY source present in the repository and let through by
 * .dockerignore, and the compose example on the host network. test/e2e/ops-docker-steps.test.ts
 * then performs the steps themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO } from './helpers/ops-catalogue.js';
import { dockerignoreAllows, execForm, healthcheckCommand, parseDockerfile, runCommands, type Stage } from './helpers/ops-dockerfile.js';

const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8');
const runtime = dockerfile.stages[dockerfile.stages.length - 1] as Stage;
const last = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).at(-1);

test('Dockerfile: stages on node:20-bookworm-slim; build runs npm ci and npm run build, deps npm ci --omit=dev', () => {
  const names = dockerfile.stages.map((s) => s.name);
  assert.deepEqual(names, ['toolchain', 'build', 'deps', 'runtime']);
  for (const s of dockerfile.stages) assert.ok(s.from === 'node:20-bookworm-slim' || names.includes(s.from), `${s.name}: FROM ${s.from}`);
  const runs = (name: string) => (dockerfile.stages.find((s) => s.name === name)?.instructions ?? []).filter((i) => i.op === 'RUN').flatMap((i) => runCommands(i.args).map((c) => c.join(' ')));
  assert.ok(runs('toolchain').some((c) => /^apt-get install .*\bpython3\b.*\bmake\b.*\bg\+\+/.test(c)), 'toolchain installs python3 make g++ for node-gyp');
  assert.ok(runs('build').includes('npm ci'));
  assert.ok(runs('build').includes('npm run build'));
  assert.ok(runs('deps').includes('npm ci --omit=dev'));
});

test('Dockerfile: the runtime stage copies production node_modules and dist/daemon only, runs as a non-root user', () => {
  const copies = runtime.instructions.filter((i) => i.op === 'COPY');
  assert.ok(copies.some((c) => c.flags.from === 'deps' && /\/app\/node_modules\s/.test(c.args)), 'node_modules from the deps stage');
  assert.ok(copies.some((c) => c.flags.from === 'build' && c.args.startsWith('/app/dist/daemon ')), 'dist/daemon from the build stage');
  assert.ok(!copies.some((c) => c.flags.from === 'build' && /node_modules/.test(c.args)), 'no dev dependencies from the build stage');
  const user = last(runtime, 'USER')?.args ?? 'root';
  assert.ok(!/^(root|0)(:|$)/.test(user), `USER ${user}`);
  const setup = runtime.instructions.filter((i) => i.op === 'RUN').flatMap((i) => runCommands(i.args));
  const useradd = setup.find((c) => c[0] === 'useradd');
  assert.equal(useradd?.at(-1), user, 'the USER is the one useradd creates');
  assert.ok(useradd?.includes('--system'));
  // CAP_NET_BIND_SERVICE as a file capability on node, and nothing more by default.
  const setcap = setup.find((c) => c[0] === 'setcap');
  assert.deepEqual(setcap, ['setcap', 'cap_net_bind_service=+ep', '/usr/local/bin/node']);
});

test('Dockerfile: volumes, HEALTHCHECK on /readyz with node, the CLI as ENTRYPOINT, serve with /config', () => {
  assert.deepEqual(execForm(last(runtime, 'VOLUME')?.args ?? '[]'), ['/boot', '/data', '/config']);
  const hc = last(runtime, 'HEALTHCHECK');
  assert.ok(hc, 'HEALTHCHECK');
  assert.deepEqual(healthcheckCommand(hc), ['node', '/app/deploy/healthcheck.mjs', '/config/bootgate.yaml']);
  assert.match(readFileSync(join(REPO, 'deploy/healthcheck.mjs'), 'utf8'), /\/readyz/);
  assert.ok(hc.flags.interval && hc.flags.timeout && hc.flags['start-period'], 'interval, timeout and start period set');
  assert.deepEqual(execForm(last(runtime, 'ENTRYPOINT')?.args ?? ''), ['node', '/app/dist/daemon/bootgate.js']);
  assert.deepEqual(execForm(last(runtime, 'CMD')?.args ?? ''), ['serve', '--config', '/config/bootgate.yaml']);
  // cwd / makes the config defaults (root: boot, store.path: data/bootgate.db) the volumes.
  assert.equal(last(runtime, 'WORKDIR')?.args, '/');
  assert.match(readFileSync(join(REPO, 'package.json'), 'utf8'), /"type": "module"/);
  assert.ok(runtime.instructions.some((i) => i.op === 'COPY' && i.args === 'package.json ./'), 'package.json (type: module) next to dist/');
});

test('Dockerfile: every COPY source exists and .dockerignore lets it through', () => {
  const sources = dockerfile.stages
    .flatMap((s) => s.instructions)
    .filter((i) => i.op === 'COPY' && !i.flags.from)
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  assert.ok(sources.length >= 6);
  for (const src of sources) {
    assert.ok(existsSync(join(REPO, src)), `COPY ${src}: not in the repository`);
    assert.ok(dockerignoreAllows(ignore, src), `COPY ${src}: excluded by .dockerignore`);
  }
  // And the big or private things stay out of the build context.
  for (const p of ['node_modules/fastify/package.json', 'dist/daemon/bootgate.js', 'boot/ipxe.efi', 'data/bootgate.db', '.git/HEAD', '.lab/x', 'test/unit/x.ts']) {
    assert.ok(!dockerignoreAllows(ignore, p), `${p} reaches the build context`);
  }
});

test('.dockerignore matcher: last match wins, ! re-includes, directories cover their contents', () => {
  assert.equal(dockerignoreAllows('*\n!daemon/\n', 'daemon/pxe/door.ts'), true);
  assert.equal(dockerignoreAllows('*\n!daemon/\n', 'docs/a.md'), false);
  assert.equal(dockerignoreAllows('node_modules\n', 'node_modules/x/y.js'), false);
  assert.equal(dockerignoreAllows('**/*.log\n', 'a/b/c.log'), false);
  assert.equal(dockerignoreAllows('*.log\n!keep.log\n', 'keep.log'), true);
  assert.equal(dockerignoreAllows('', 'anything'), true);
});

test('compose example: host network, NET_BIND_SERVICE only, the three volumes, a stop grace above 30 s', () => {
  const compose = parse(readFileSync(join(REPO, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { network_mode: string; cap_drop: string[]; cap_add: string[]; volumes: string[]; stop_grace_period: string; security_opt?: string[] }>;
  };
  const svc = compose.services.bootgate;
  assert.ok(svc);
  assert.equal(svc.network_mode, 'host');
  assert.deepEqual(svc.cap_drop, ['ALL']);
  assert.deepEqual(svc.cap_add, ['NET_BIND_SERVICE']);
  // no-new-privileges would make the kernel ignore node's file capability: no port 67.
  assert.ok(!(svc.security_opt ?? []).some((o) => o.startsWith('no-new-privileges')));
  assert.deepEqual(svc.volumes.map((v) => v.split(':')[1]).sort(), ['/boot', '/config', '/data']);
  assert.ok(Number.parseInt(svc.stop_grace_period, 10) > 30);
});
