#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver: the HTML report test renders `peerlab run --html`
# pages with chromium, and the browser tests (simulator/tests/browser/) drive it through
# chromedriver. Idempotent: does nothing when both are already there, so tests can call it every
# time. Pinned to the Debian 12 build peerlab was tested with (the driver must match the browser);
# run by the tests that need it, as root, under a lock so that parallel tests install once.
set -euo pipefail
VERSION="156.0.8078.108-1~deb12u1"
installed() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}
if installed; then
  exit 0
fi
exec 9>/tmp/peerlab-chromium-install.lock
flock 9
if installed; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "chromium=${VERSION}" "chromium-driver=${VERSION}" \
  || apt-get install -y -qq --no-install-recommends chromium chromium-driver
