#!/usr/bin/env node
// The CLI is bundled into dist/cli.js by `npm run build` (which `npm ci` / `npm install` run through
// the `prepare` script, and which a packed tarball already contains); this shim only starts it.
let cli;
try {
  cli = require('../dist/cli.js');
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli.js')) throw e;
  console.error('neuron-path: dist/cli.js is not built yet; run `npm run build` in the project folder.');
  process.exit(1);
}
cli.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
