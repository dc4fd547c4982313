// An import cycle check that counts every import the compiler sees, `import type` and re-exports
// included. import-x/no-cycle skips type-only imports by design, so a cycle held by a type (as
// protocol/dhcp/accessors.ts <-> packet.ts was) passes it; for the layering those tie two files
// together all the same. The graph comes from TypeScript's own pre-processor and resolver (the
// tsconfig's NodeNext rules, `.js` specifiers to `.ts` files), read once per file per run.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const optionsByConfig = new Map();
function compilerOptions(tsconfig) {
  let o = optionsByConfig.get(tsconfig);
  if (o === undefined) {
    const { config } = ts.readConfigFile(tsconfig, ts.sys.readFile);
    o = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(tsconfig)).options;
    optionsByConfig.set(tsconfig, o);
  }
  return o;
}

function resolve(spec, from, options) {
  const r = ts.resolveModuleName(spec, from, options, ts.sys, undefined, undefined, ts.ModuleKind.ESNext).resolvedModule;
  if (r === undefined || r.isExternalLibraryImport || r.resolvedFileName.endsWith('.d.ts')) return null;
  return path.resolve(r.resolvedFileName);
}

/** file -> { mtime, deps }: the project files it imports. */
const graph = new Map();
function depsOf(file, options) {
  let mtime;
  try {
    mtime = fs.statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const cached = graph.get(file);
  if (cached !== undefined && cached.mtime === mtime) return cached.deps;
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  const deps = [...new Set(info.importedFiles.map((f) => resolve(f.fileName, file, options)).filter((d) => d !== null))];
  graph.set(file, { mtime, deps });
  return deps;
}

/** A path of imports from `start` back to `goal`, or null. */
function pathBack(start, goal, options) {
  const seen = new Set([start]);
  const stack = [[start]];
  while (stack.length > 0) {
    const route = stack.pop();
    for (const next of depsOf(route[route.length - 1], options)) {
      if (next === goal) return [...route, next];
      if (!seen.has(next)) {
        seen.add(next);
        stack.push([...route, next]);
      }
    }
  }
  return null;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid imports (type-only ones included) that lead back to the importing file' },
    schema: [{ type: 'object', properties: { tsconfig: { type: 'string' } }, required: ['tsconfig'], additionalProperties: false }],
    messages: { cycle: 'Import cycle: {{route}}. Move what both sides need into a file that imports neither.' },
  },
  create(context) {
    const file = path.resolve(context.physicalFilename);
    const options = compilerOptions(context.options[0].tsconfig);
    const root = path.dirname(context.options[0].tsconfig);
    const check = (source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') return;
      const target = resolve(source.value, file, options);
      if (target === null || target === file) return;
      const back = pathBack(target, file, options);
      if (back === null) return;
      const route = [file, ...back].map((f) => path.relative(root, f)).join(' -> ');
      context.report({ node: source, messageId: 'cycle', data: { route } });
    };
    return {
      ImportDeclaration: (n) => check(n.source),
      ExportNamedDeclaration: (n) => check(n.source),
      ExportAllDeclaration: (n) => check(n.source),
      ImportExpression: (n) => check(n.source),
    };
  },
};
