// Bundles the extension host, the engine worker, the CLI, the benchmark and the webview with esbuild.
import * as esbuild from 'esbuild';

const native = ['onnxruntime-node', 'sharp', 'vscode'];
const node = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, external: native };

await Promise.all([
  esbuild.build({ ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' }),
  esbuild.build({ ...node, entryPoints: ['src/worker/worker.ts'], outfile: 'dist/worker.js' }),
  esbuild.build({ ...node, entryPoints: ['src/cli/cli.ts'], outfile: 'dist/cli.js' }),
  esbuild.build({ ...node, entryPoints: ['scripts/bench.ts'], outfile: 'dist/bench.js' }),
  esbuild.build({
    bundle: true, platform: 'browser', target: 'es2022', format: 'esm', sourcemap: true,
    entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js',
  }),
  esbuild.build({
    bundle: true, platform: 'browser', target: 'es2022', format: 'esm', sourcemap: true,
    entryPoints: ['webview/folder.ts'], outfile: 'dist/folder.js',
  }),
  esbuild.build({
    bundle: true, platform: 'browser', target: 'es2022', format: 'esm', sourcemap: true,
    entryPoints: ['webview/neuron.ts'], outfile: 'dist/neuron.js',
  }),
  esbuild.build({
    bundle: true, platform: 'browser', target: 'es2022', format: 'esm', sourcemap: true,
    entryPoints: ['webview/compare.ts'], outfile: 'dist/compare.js',
  }),
]);
