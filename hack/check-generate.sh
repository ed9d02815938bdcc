#!/usr/bin/env bash
# Fails when generated files are out of date: regenerates in a copy of the working tree and compares.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT

tar -C "$root" --exclude=./.git --exclude=./.cache --exclude=./bin -cf - . | tar -C "$copy" -xf -
(cd "$copy" && METAL_CACHE_DIR="$root/.cache" hack/generate.sh >/dev/null)

if ! diff -r -q --exclude=.git --exclude=.cache --exclude=bin "$root" "$copy"; then
  echo "generated files are out of date: run 'make generate' and commit the result" >&2
  exit 1
fi
echo "generated files are up to date"
