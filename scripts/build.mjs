// Bundles the extension host, the engine worker, the CLI, the benchmark and the webview with esbuild.
import * as esbuild from 'esbuild';

const native = ['onnxruntime-node', 'sharp', 'vscode'];
const node = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, external: native };

await Promise.all([
  esbuild.build({ ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' }),
  esbuild.build({ ...node, entryPoints: ['src/worker/worker.ts'], outfile: 'dist/worker.js' }),
  esbuild.build({ ...node, entryPoints: ['src/cli/cli.ts'], outfile: 'dist/cli.js' }),
  // What bin/neuron-path.js runs first: it starts the CLI in a child process and words its crashes.
  esbuild.build({ ...node, entryPoints: ['src/cli/supervisor.ts'], outfile: 'dist/supervisor.js' }),
  esbuild.build({ ...node, entryPoints: ['scripts/bench.ts'], outfile: 'dist/bench.js' }),
  // The webview pages: the image panel, the folder panel, the neuron view, the comparison.
  ...[['webview/image.ts', 'image'], ['webview/folder.ts', 'folder'], ['webview/neuron.ts', 'neuron'], ['webview/compare.ts', 'compare']].map(([entry, name]) =>
    esbuild.build({ bundle: true, platform: 'browser', target: 'es2022', format: 'esm', sourcemap: true, entryPoints: [entry], outfile: `dist/${name}.js` })),
]);
