#!/usr/bin/env bash
# Installs the npm packages the interop test checks peerlab's wire against, from the lock file.
# Run by the test itself when they are missing; needs node and npm (on every machine of this kind).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/ilp-packet ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
