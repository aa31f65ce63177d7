// The module graph of src/ and webview/: no import cycle (type-only imports count: a cycle of types
// is still two modules that cannot be read one without the other), and the extension host's bundle
// loads neither onnxruntime nor sharp (the host does no model work; those stay in the worker).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import ts from 'typescript';
import { REPO, tempDir } from '../helpers/fixtures';
import { deactivate, HOST_READY, loadExtension, ROOT, stubVscode } from './fixtures/extensionHost';
import { makeContext } from './fixtures/vscodeStub';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Each module's relative imports of code (static, type-only, re-exports and dynamic; not stylesheets), resolved to files. */
export function importGraph(roots: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of roots.flatMap(sources)) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const deps = importedFiles.map((i) => i.fileName).filter((s) => s.startsWith('.') && !/\.(css|json)$/.test(s)).map((s) => {
      const base = path.resolve(path.dirname(file), s);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
      assert.ok(found, `${path.relative(REPO, file)} imports '${s}', which is no module of the project`);
      return found;
    });
    graph.set(file, deps);
  }
  return graph;
}

/** The cycles of a graph, one per strongly connected component of more than one module (or a module importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = ''; w !== v;) { w = stack.pop()!; onStack.delete(w); component.push(w); }
    if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.reverse());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('no module of src/ or webview/ imports itself through others', () => {
  const graph = importGraph([path.join(REPO, 'src'), path.join(REPO, 'webview')]);
  assert.ok(graph.size > 50, `read ${graph.size} modules`);
  const found = cycles(graph).map((c) => c.map((f) => path.relative(REPO, f)).join(' -> '));
  assert.deepEqual(found, [], `import cycles:\n${found.join('\n')}`);
});

test('the cycle finder finds a cycle of two and of one, and none in a chain', () => {
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['a']], ['c', ['a']]])), [['a', 'b']]);
  assert.deepEqual(cycles(new Map([['a', ['a']]])), [['a']]);
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', []]])), []);
});

test('the extension host loads neither onnxruntime nor sharp, activated or not', { skip: !HOST_READY && 'needs npm run build' }, async () => {
  const natives: string[] = [];
  const mod = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const { restore } = stubVscode({});
  const load = mod._load;
  mod._load = function (request, parent, isMain) {
    if (request === 'onnxruntime-node' || request === 'sharp') natives.push(request);
    return load.call(this, request, parent, isMain);
  };
  const ctx = makeContext(ROOT, path.join(tempDir('host-natives'), 'storage'));
  try {
    loadExtension().activate(ctx);
    await deactivate(ctx, 50);
  } finally {
    mod._load = load;
    restore();
  }
  assert.deepEqual(natives, [], 'a module the host imports reaches the engine\'s runtime at load');
});
