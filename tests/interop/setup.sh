#!/usr/bin/env bash
# Installs the npm packages the interop tests check peerlab against, from the lock file, unless
# every package package.json names is already installed at its pinned version.
# Run by the tests themselves; needs node and npm (on every machine of this kind).
set -euo pipefail
cd "$(dirname "$0")"
# One install at a time, whoever else runs this script (test binaries run in parallel).
exec 9>.install.lock
flock 9
installed() {
  node --input-type=commonjs -e '
    const { dependencies } = require("./package.json");
    for (const [name, version] of Object.entries(dependencies)) {
      let found;
      try { found = require(`./node_modules/${name}/package.json`).version; } catch { found = null; }
      if (found !== version) process.exit(1);
    }'
}
if ! installed; then
  npm ci --no-audit --no-fund --loglevel=error
fi
