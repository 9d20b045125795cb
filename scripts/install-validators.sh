#!/usr/bin/env bash
# Installs the schema validators that simulator/tests/export.rs runs on `peerlab export`'s output,
# into a virtualenv of their own under $HOME/.cache/peerlab-validators, from PyPI:
# - kubernetes-validate: the Kubernetes OpenAPI schemas of each release, strict (unknown fields
#   refused);
# - check-jsonschema: ships the Compose Specification's JSON schema (`--builtin-schema
#   vendor.compose-spec`).
# Pinned, their dependencies too, so that a validation means the same on every machine.
# Idempotent: does nothing when exactly this set is installed, so tests can call it every time;
# under a lock, so that tests running in parallel install once. Prints the venv's bin directory.
set -euo pipefail
DIR="${PEERLAB_VALIDATORS_DIR:-$HOME/.cache/peerlab-validators}"
REQUIREMENTS="kubernetes-validate==1.37.0
check-jsonschema==0.39.0
attrs==26.1.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
click==8.5.1
idna==3.20
importlib_resources==7.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
packaging==26.4
PyYAML==6.0.4
referencing==0.37.0
regress==2026.9.1
requests==2.34.2
rpds-py==2026.9.1
ruamel.yaml==0.19.1
typing_extensions==4.16.0
urllib3==2.8.0"
installed() {
  [ -x "$DIR/bin/kubernetes-validate" ] && [ -x "$DIR/bin/check-jsonschema" ] \
    && [ "$(cat "$DIR/installed.txt" 2>/dev/null)" = "$REQUIREMENTS" ]
}
if installed; then
  echo "$DIR/bin"
  exit 0
fi
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9
if installed; then
  echo "$DIR/bin"
  exit 0
fi
# A half-made venv (an interrupted install) is made again from nothing.
rm -rf "$DIR"
python3 -m venv "$DIR"
printf '%s\n' "$REQUIREMENTS" >"$DIR/requirements.txt"
"$DIR/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$DIR/requirements.txt" >&2
# Written last: its presence says the install finished.
printf '%s' "$REQUIREMENTS" >"$DIR/installed.txt"
echo "$DIR/bin"
