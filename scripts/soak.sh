#!/usr/bin/env bash
# isle's soak test, not part of scripts/test.sh: examples/kv's server and
# its clients on a 2-core machine for a while (default 5m; give another Go
# duration as the first argument), checking that isle's resident memory and
# open host file descriptors stay flat (examples/kv/soak_test.go).
set -euo pipefail
cd "$(dirname "$0")/.."
ISLE_SOAK="${1:-5m}" exec go test -count=1 -timeout 0 -run '^TestSoak$' -v ./examples/kv/
