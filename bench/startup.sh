#!/usr/bin/env bash
# Start-up benchmark: `run` with 10 secrets (8 env, 2 files, dir backend,
# published to tmpfs) and with 1,000, each against a minimal Go program that
# only execve's the same command, interleaved in one run. Prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o "$out/flyte-entrypoint" ./cmd/flyte-entrypoint
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/baseline" ./bench/baseline
go build -o "$out/startup" ./bench/startup
n=${N:-200}
"$out/startup" -shim "$out/flyte-entrypoint" -baseline "$out/baseline" -n "$n" -secrets 10 -files 2
"$out/startup" -shim "$out/flyte-entrypoint" -baseline "$out/baseline" -n "$((n / 4))" -secrets 1000 -files 200
