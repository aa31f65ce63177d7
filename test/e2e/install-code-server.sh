#!/usr/bin/env bash
# Installs code-server (VS Code in the browser) for the end-to-end test, outside the project's
# node_modules, into $NEURON_PATH_E2E_HOME/code-server (default ~/.cache/neuron-path-e2e/code-server).
# Reused when the installed version matches. Needs Node 20 (the 4.100 line is the last that runs on
# it), a C++ toolchain, python3, libkrb5-dev and ripgrep (Debian: apt-get install -y build-essential
# python3 libkrb5-dev ripgrep), and the npm registry; nothing else is downloaded:
#  - npm 11 blocks dependency install scripts, and code-server's own postinstall runs nested
#    `npm install`s that would need them; so we install with --ignore-scripts and do its postinstall
#    steps here, allowing only the native modules that VS Code's server needs;
#  - node-gyp builds against the headers of the running Node (nodedir) instead of downloading them;
#  - @vscode/ripgrep's download is served from its cache, seeded with the system's rg.
set -euo pipefail

VERSION=4.100.3
RIPGREP_CACHE_VERSION=1.15.11   # @vscode/ripgrep in code-server 4.100.3
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

home="${NEURON_PATH_E2E_HOME:-$HOME/.cache/neuron-path-e2e}"
dest="$home/code-server"
marker="$dest/.installed"

if [[ -f "$marker" && "$(cat "$marker")" == "$VERSION" ]]; then
  echo "code-server $VERSION already installed in $dest"
  exit 0
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [[ "$node_major" != 20 ]]; then
  echo "code-server $VERSION needs Node 20 (this is $(node -v))" >&2
  exit 1
fi
command -v rg >/dev/null || { echo "ripgrep (rg) is needed: apt-get install -y ripgrep" >&2; exit 1; }

# Headers of the running Node, for node-gyp (the Debian/NodeSource package ships them).
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
nodedir_line=""
if [[ -f "$node_prefix/include/node/node_api.h" ]]; then
  nodedir_line="nodedir=$node_prefix"
else
  echo "warning: no Node headers under $node_prefix/include/node; node-gyp will try to download them" >&2
fi

# Seed @vscode/ripgrep's download cache (it looks in os.tmpdir()).
rg_cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_CACHE_VERSION"
if [[ ! -f "$rg_cache/$RIPGREP_ASSET" ]]; then
  mkdir -p "$rg_cache"
  tar czf "$rg_cache/$RIPGREP_ASSET" -C "$(dirname "$(readlink -f "$(command -v rg)")")" rg
fi

work="$home/code-server.partial"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# The install's own project: argon2 (code-server's password hashing, loaded at start) may build.
cat > package.json <<'EOF'
{ "private": true, "allowScripts": { "argon2": true } }
EOF
write_npmrc() {
  { echo "fund=false"; echo "audit=false"; echo "update-notifier=false"; echo "yes=true"
    if [[ -n "$nodedir_line" ]]; then echo "$nodedir_line"; fi
    if [[ -n "${1:-}" ]]; then echo "allow-scripts=$1"; fi
  } > .npmrc
}
write_npmrc

echo "== npm install code-server@$VERSION (scripts off)"
npm install --ignore-scripts "code-server@$VERSION"
echo "== build argon2"
npm rebuild --foreground-scripts --build-from-source argon2   # no attempt at its prebuilt download

# What code-server's postinstall.sh does, with the native modules of VS Code's server allowed to
# build. node-pty's postinstall runs `npx node-gyp` (hence yes=true; npx fetches it from the registry).
cd node_modules/code-server/lib/vscode
write_npmrc "@parcel/watcher,@vscode/deviceid,@vscode/ripgrep,@vscode/spdlog,@vscode/windows-process-tree,@vscode/windows-registry,kerberos,native-watchdog,node-pty"
echo "== npm install (lib/vscode)"
npm install --omit=dev --foreground-scripts
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
cd extensions
write_npmrc
echo "== npm install (lib/vscode/extensions)"
npm install --omit=dev

for f in node_modules/node-pty/build/Release/pty.node node_modules/@vscode/spdlog/build/Release/spdlog.node node_modules/@vscode/ripgrep/bin/rg; do
  [[ -e "$work/node_modules/code-server/lib/vscode/$f" ]] || { echo "missing after install: $f" >&2; exit 1; }
done

echo "$VERSION" > "$work/.installed"
rm -rf "$dest"
mv "$work" "$dest"
echo "code-server $VERSION installed in $dest"
