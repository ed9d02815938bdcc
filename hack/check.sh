#!/usr/bin/env bash
# Static checks: gofmt, go vet and golangci-lint (built from the Go module proxy by hack/tools.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

unformatted=$(gofmt -l cmd pkg test hack 2>/dev/null || true)
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
(cd test/landscape/processkubelet && go vet ./...)
"$(hack/tools.sh golangci-lint)" run ./...
