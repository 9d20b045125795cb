#!/usr/bin/env bash
# Re-fetches the GraphiQL page's assets from npm at the pinned versions (README.md in this folder
# lists them with their sha256s) and checks them. Needs node and npm. Run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# package@version, path in the package, name here (the .js and .css are served under /graphql/assets/)
assets=(
  "graphiql@3.8.3 graphiql.min.js graphiql-3.8.3.min.js"
  "graphiql@3.8.3 graphiql.min.css graphiql-3.8.3.min.css"
  "react@18.3.1 umd/react.production.min.js react-18.3.1.production.min.js"
  "react-dom@18.3.1 umd/react-dom.production.min.js react-dom-18.3.1.production.min.js"
  "graphiql@3.8.3 LICENSE LICENSE.graphiql"
  "react@18.3.1 LICENSE LICENSE.react"
  "react-dom@18.3.1 LICENSE LICENSE.react-dom"
)

cd "$work"
for entry in "${assets[@]}"; do
  read -r package source target <<<"$entry"
  if [ ! -d "$package" ]; then
    tarball="$(npm pack --silent "$package")"
    mkdir "$package"
    tar -xzf "$tarball" -C "$package"
  fi
  cp "$package/package/$source" "$here/$target"
done

cd "$here"
sha256sum -c SHA256SUMS
