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

/** A bundle of dist/, or one line saying to build it. */
function load(name) {
  try {
    return require(`../dist/${name}`);
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(`dist/${name}`)) throw e;
    console.error(`neuron-path: dist/${name} is not built yet; run \`npm run build\` in the project folder.`);
    process.exit(1);
  }
}

// The command runs in a child process of this one (dist/supervisor.js), which says in one line why,
// if the child is killed (out of memory) or aborts; the child is this script again, marked by the variable.
if (process.env.NEURON_PATH_SUPERVISED === '1' && process.send) {
  load('cli.js').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
} else {
  load('supervisor.js').supervise(__filename, process.argv.slice(2));
}
