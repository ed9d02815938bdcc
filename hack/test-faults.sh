#!/usr/bin/env bash
# Runs the end-to-end test (test/e2e) with more fault rounds than `make test` (which runs one, seed 1): ROUNDS
# (first argument, default 3) rounds of every scenario and fault, round r with the seed SEED+r (second argument,
# default the current Unix time). The seed is printed first; a failed round is replayed with
# `hack/test-faults.sh 1 <its seed>`. One round takes about a quarter of an hour on two cores.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

rounds=${1:-3}
seed=${2:-$(date +%s)}
echo "fault rounds: $rounds, seed $seed"
export LANDSCAPE_FAULT_ROUNDS=$rounds LANDSCAPE_FAULT_SEED=$seed
# Each round adds its time to the single landscape run of the suite.
hack/test.sh -count=1 -timeout "$((30 + 20 * rounds))m" -ginkgo.v ./test/e2e/
