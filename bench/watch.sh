#!/usr/bin/env bash
# --watch benchmark: the time from a ..data swap in a Kubernetes-style source
# directory to the command receiving SIGHUP with the new files readable
# (median and p99 of 200 rotations, with the debounce used), and the shim's
# CPU over 60 idle seconds. Both come from the e2e tests that check them.
set -euo pipefail
cd "$(dirname "$0")/.."
FE_WATCH_IDLE=${FE_WATCH_IDLE:-60s} go test -count=1 -timeout 10m -v \
  -run '^(TestWatchKubeletRotations|TestWatchIdleCostsNothing)$' ./cmd/flyte-entrypoint/ |
  grep -E 'rotations|idle|^(ok|FAIL|--- )'
