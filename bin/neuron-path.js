#!/usr/bin/env node
// The CLI is bundled by `npm run build`; this shim only starts it.
require('../dist/cli.js').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
