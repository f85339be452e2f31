#!/usr/bin/env bash
# CI entry: installs the pinned tools from package-lock.json, generates the TypeScript types
# from ../../openapi.yaml, compiles the typed example client with tsc --strict, and fails if
# the generated types have unknown/never where the API has a schema or money that is no string.
# Needs only node >= 20 with npm and the npm registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

major="$(node -p 'process.versions.node.split(".")[0]')"
if (( major < 20 )); then
  echo "clients/typescript: node >= 20 needed, found $(node --version)" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run check
