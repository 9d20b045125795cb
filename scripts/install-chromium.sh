#!/usr/bin/env bash
# Installs Debian's chromium, which the HTML report test renders `peerlab run --html` pages with.
# Idempotent: does nothing when chromium is already there. Pinned to the Debian 12 build peerlab
# was tested with; run by the test that needs it (simulator/tests/html_report.rs), as root.
set -euo pipefail
VERSION="156.0.8078.108-1~deb12u1"
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
exec 9>/tmp/peerlab-chromium-install.lock
flock 9
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "chromium=${VERSION}" || apt-get install -y -qq --no-install-recommends chromium
