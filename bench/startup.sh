#!/usr/bin/env bash
# Start-up benchmark: `run` with 10 secrets (8 env, 2 files, dir backend,
# published to tmpfs) and with 1,000, each against a minimal Go program that
# only execve's the same command, interleaved in one run. Prints the ratios,
# for the shim as `make build` builds it and as a plain `go build` or
# `go install` does (without the urfave_cli_no_docs tag). Wall time is
# noisy; bench/instructions.sh counts instructions, which repeat.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tags=$(sed -n 's/^TAGS *:= *//p' Makefile)
CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "-s -w" -o "$out/flyte-entrypoint" ./cmd/flyte-entrypoint
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/go-install-build" ./cmd/flyte-entrypoint
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/baseline" ./bench/baseline
CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "-s -w" -o "$out/libraries-alone" ./bench/libfloor
CGO_ENABLED=0 go build -trimpath -tags "$tags,tls" -ldflags "-s -w" -o "$out/libraries+tls" ./bench/libfloor
go build -o "$out/startup" ./bench/startup
n=${N:-200}
"$out/startup" -shim "$out/flyte-entrypoint,$out/go-install-build" -baseline "$out/baseline" \
  -floors "$out/libraries-alone,$out/libraries+tls" -n "$n" -secrets 10 -files 2
"$out/startup" -shim "$out/flyte-entrypoint" -baseline "$out/baseline" -n "$((n / 4))" -secrets 1000 -files 200
