#!/usr/bin/env node
// The CLI is bundled into dist/cli.js by `npm run build` (which `npm ci` / `npm install` run through
// the `prepare` script, and which a packed tarball already contains); this shim only starts it.
// Under `ulimit -v` (an address-space limit) too small for Node, onnxruntime and libvips to start,
// the native libraries abort with a message of their own (glib, std::bad_alloc) or none: say it in one line first.
const MIN_ADDRESS_SPACE = 1280 * 1024 * 1024;
try {
  const limit = /^Max address space\s+(\d+)/m.exec(require('node:fs').readFileSync('/proc/self/limits', 'utf8'));
  if (limit && Number(limit[1]) < MIN_ADDRESS_SPACE) {
    console.error(`neuron-path: the address-space limit (ulimit -v) is ${Math.round(Number(limit[1]) / 2 ** 20)} MiB, less than the ` +
      `${MIN_ADDRESS_SPACE / 2 ** 20} MiB Node, onnxruntime and the image decoder need to start; raise it (ulimit -v unlimited) or limit memory with cgroups (systemd-run -p MemoryMax=, docker --memory) instead`);
    process.exit(1);
  }
} catch { /* not Linux: no such limit to read */ }

let cli;
try {
  cli = require('../dist/cli.js');
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli.js')) throw e;
  console.error('neuron-path: dist/cli.js is not built yet; run `npm run build` in the project folder.');
  process.exit(1);
}
cli.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
