// ESLint flat config. Two jobs: typescript-eslint's recommended rules on every TypeScript file, and
// the shape of daemon/ (style.md, "The shape of the code"): pure protocol/ and policy/, imports that
// only run down the layers, no import cycles. The layer table below is the one place that says which
// folder sits where; the zones and restricted imports are generated from it.
//
// typescript-eslint's rules are the syntactic `recommended` set, not the type-checked one: with type
// information the whole tree took 75 s on the 2-CPU machine (against about 20 s), beyond the minute
// `npm test` can spend on lint, and `tsc` already runs the type checks in the build.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';
import noImportCycle from './eslint/no-import-cycle.js';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * The boot path's layers, left to right: a file may import its own layer and the layers before it,
 * never one after it. Folders and files, relative to the repository root (plain paths: the rule cannot
 * mix globs and paths in one zone).
 */
const LAYERS = [
  { name: 'protocol codecs', files: ['daemon/protocol'] },
  { name: 'policy and the config types', files: ['daemon/policy', 'daemon/config/schema.ts', 'daemon/config/types.ts'] },
  {
    name: 'shared infrastructure (logger, metrics, config loading, bounded tables, Linux ABI numbers)',
    files: ['daemon/log.ts', 'daemon/metrics.ts', 'daemon/lru.ts', 'daemon/linux-abi.ts', 'daemon/config/load.ts', 'daemon/config/defaults.ts'],
  },
  { name: 'doors, responders and boot content', files: ['daemon/pxe', 'daemon/tftp', 'daemon/boot', 'daemon/files'] },
  { name: 'sockets, HTTP and the store', files: ['daemon/net', 'daemon/http', 'daemon/store'] },
  { name: 'features and CLI plumbing', files: ['daemon/features', 'daemon/cli'] },
  { name: 'the composition root', files: ['daemon/main.ts'] },
  { name: 'the executable', files: ['daemon/bootgate.ts'] },
];

/** Plumbing shared by every feature knows no feature, although it sits at or above their layer. */
const FEATURE_BLIND = ['daemon/http/admin', 'daemon/cli'];

/**
 * Imports that break the layering today and are allowed until the code is changed; each names the
 * importing file, what it may import and why it is still here. Delete an entry when its import goes.
 */
const LAYER_EXCEPTIONS = [
  {
    importer: 'daemon/tftp/sockopt.ts',
    allow: ['daemon/net/socket-fd.ts'],
    why: 'the TFTP engine owns its sockets inside a worker thread (tftp/transport.ts) and shares net/\'s fd lookup',
  },
];

/**
 * Packages and Node modules that do I/O or hold process-wide state. protocol/, policy/ and the config
 * types are functions of bytes and data: none of these there (the loggers, metrics, store, sockets
 * and features of this tree are kept out by the layer zones).
 */
const IO_MODULES = [
  'fs', 'fs/promises', 'dgram', 'net', 'tls', 'dns', 'dns/promises', 'http', 'https', 'http2',
  'child_process', 'worker_threads', 'cluster', 'os', 'process', 'readline', 'stream', 'stream/promises',
  'v8', 'vm', 'inspector', 'perf_hooks', 'module',
];
const IO_PACKAGES = ['fastify', 'pino', 'prom-client', 'better-sqlite3', 'koffi'];

const PURE = ['daemon/protocol/**', 'daemon/policy/**', 'daemon/config/schema.ts', 'daemon/config/types.ts'];

/** Only daemon/net/ touches the UDP socket API and libc. */
const SOCKET_MODULES = ['dgram'];
const SOCKET_PACKAGES = ['koffi'];
/** Files outside net/ that own sockets on purpose (see LAYER_EXCEPTIONS for the why). */
const SOCKET_OWNERS = [
  'daemon/net/**',
  // The TFTP engine: a transfer runs in a worker thread that must own its sockets (tftp/transport.ts).
  'daemon/tftp/server.ts',
  'daemon/tftp/transport.ts',
  // Its start-up warm-up plays a client on 127.0.0.1 to every worker (tftp/warmup.ts).
  'daemon/tftp/warmup.ts',
];

/**
 * One zone per (layer, forbidden path): an exception is given relative to the path it is carved out
 * of, so each forbidden path carries only its own exceptions.
 */
function layerZones(allowed = []) {
  const zone = (target, from, message) => ({
    target,
    from,
    except: allowed.filter((a) => a.startsWith(`${from}/`)).map((a) => path.relative(from, a)),
    message,
  });
  const zones = LAYERS.slice(0, -1).flatMap((layer, i) =>
    LAYERS.slice(i + 1).flatMap((later) =>
      later.files.map((from) => zone(layer.files, from, `${layer.name} must not import ${later.name}: imports run down the layers only.`)),
    ),
  );
  zones.push(zone(FEATURE_BLIND, 'daemon/features', 'http/admin/ and cli/ are plumbing shared by every feature; they know no feature.'));
  return zones;
}

function restrictedImports(modules, packages, message) {
  return {
    paths: [
      ...modules.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message })),
      ...packages.map((name) => ({ name, message })),
    ],
    patterns: packages.includes('fastify') ? [{ group: ['@fastify/*'], message }] : [],
  };
}

/**
 * Bare protocol numbers outside protocol/ (style.md: "no bare option numbers or opcodes outside
 * protocol/"): the shapes they took before, as AST selectors. Not every number, only these shapes.
 */
const BARE_PROTOCOL_NUMBERS = [
  {
    selector: "BinaryExpression[left.property.name='op'][right.raw=/^\\d+$/]",
    message: 'Compare a BOOTP op or TFTP opcode with its constant from protocol/ (BootpOp, TFTP_OPCODE).',
  },
  {
    selector: "Property[key.name='code'][value.raw=/^\\d+$/]",
    message: 'A TFTP error code by name: TFTP_ERROR from protocol/tftp/codec.ts.',
  },
  {
    selector: "CallExpression[callee.object.property.name='options'][arguments.0.raw=/^\\d+$/]",
    message: 'A DHCP option by name: DhcpOption from protocol/dhcp/constants.ts.',
  },
  {
    selector: "CallExpression[callee.name=/^option(Uint8|Uint16|Uint16List|Uint32|String|Ipv4)$/][arguments.1.raw=/^\\d+$/]",
    message: 'A DHCP option by name: DhcpOption from protocol/dhcp/constants.ts.',
  },
];

/** Files allowed bare protocol numbers outside protocol/ (none today). */
const BARE_NUMBER_EXCEPTIONS = [];

export default defineConfig(
  {
    ignores: ['dist/', 'node_modules/', 'boot/', 'data/', '.lab/', 'bench/results/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    // Import rules on the whole tree (daemon/, test/, bench/).
    files: ['**/*.ts'],
    plugins: { 'import-x': importX, bootgate: { rules: { 'no-import-cycle': noImportCycle } } },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: path.join(root, 'tsconfig.json') })],
    },
    rules: {
      // Not import-x/no-cycle: it skips `import type`, and a type-only cycle still ties two files together.
      'bootgate/no-import-cycle': ['error', { tsconfig: path.join(root, 'tsconfig.json') }],
      // Also the guard of the layer zones: an import the resolver cannot follow would pass them silently.
      'import-x/no-unresolved': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-useless-path-segments': 'error',
      'import-x/no-duplicates': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // `_name` marks a parameter a callback signature requires but this body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A `let x` declared before a closure that reads it, assigned once after: a const there would be
      // read in its temporal dead zone if the closure runs early (store/backend.ts recorder and cache).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The layer rules: daemon/ only; tests and benchmarks may reach any layer to drive it.
    files: ['daemon/**/*.ts'],
    ignores: LAYER_EXCEPTIONS.map((e) => e.importer),
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: root, zones: layerZones() }] },
  },
  ...LAYER_EXCEPTIONS.map((e) => ({
    files: [e.importer],
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: root, zones: layerZones(e.allow) }] },
  })),
  {
    files: ['daemon/**/*.ts'],
    ignores: SOCKET_OWNERS,
    rules: {
      'no-restricted-imports': ['error', restrictedImports(SOCKET_MODULES, SOCKET_PACKAGES, 'Only daemon/net/ touches sockets and libc.')],
    },
  },
  {
    files: PURE,
    rules: {
      'no-restricted-imports': [
        'error',
        restrictedImports(
          IO_MODULES,
          IO_PACKAGES,
          'protocol/, policy/ and config/schema.ts and types.ts are pure: no files, sockets, processes, loggers, metrics, HTTP or database.',
        ),
      ],
    },
  },
  {
    files: ['daemon/**/*.ts'],
    ignores: ['daemon/protocol/**', ...BARE_NUMBER_EXCEPTIONS],
    rules: { 'no-restricted-syntax': ['error', ...BARE_PROTOCOL_NUMBERS] },
  },
  {
    // The console page's script runs in the browser, as a classic script.
    files: ['daemon/features/console/static/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
);
