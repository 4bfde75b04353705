#!/usr/bin/env bash
# Instruction-count start-up benchmark: the instructions executed before
# execve, counted by callgrind, for the 10-secret start (8 env, 2 files, dir
# backend, published to tmpfs) against go-floor (bench/baseline: a Go program
# that only execve's), interleaved in one run. Counts repeat to a few percent
# on a noisy machine, unlike wall time; the report is a ratio of medians.
#
# The shim is built as `make build` builds it and as a plain `go build` /
# `go install` builds it, unstripped (callgrind needs the symbols).
# GODEBUG=asyncpreemptoff=1 keeps the Go runtime's preemption signals out of
# callgrind's way.
#
#   bench/instructions.sh            # N=9 runs of each
#   N=21 bench/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
n=${N:-9}
shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
out=$(mktemp -d "$shm/fe-instructions.XXXXXX")
trap 'chmod -R u+w "$out" 2>/dev/null; rm -rf "$out"' EXIT

tags=$(sed -n 's/^TAGS *:= *//p' Makefile)
CGO_ENABLED=0 go build -trimpath -tags "$tags" -o "$out/shim" ./cmd/flyte-entrypoint
CGO_ENABLED=0 go build -trimpath -o "$out/shim-plain" ./cmd/flyte-entrypoint
CGO_ENABLED=0 go build -trimpath -o "$out/floor" ./bench/baseline
# The floor of the libraries every start links (bench/libfloor), without and
# with crypto/tls and net: no code of ours runs in them.
CGO_ENABLED=0 go build -trimpath -tags "$tags" -o "$out/libs" ./bench/libfloor
CGO_ENABLED=0 go build -trimpath -tags "$tags,tls" -o "$out/libstls" ./bench/libfloor

mkdir "$out/src"
args=(--dir "$out/src")
for i in $(seq 0 9); do
  printf 'value-of-secret-%d' "$i" >"$out/src/secret-$i"
  if [ "$i" -lt 2 ]; then
    args+=(--secret "key=secret-$i,mount=/etc/flyte/secrets")
  else
    args+=(--secret "secret-$i")
  fi
done

# count BIN ARGS...: instructions before the first execve.
count() {
  local d
  d=$(mktemp -d "$out/cg.XXXXXX")
  (cd "$d" && env -i PATH=/usr/bin:/bin HOME="$out" GODEBUG=asyncpreemptoff=1 \
    valgrind --tool=callgrind --dump-before=syscall.Exec --callgrind-out-file="$d/cg.%p" "$@" >/dev/null 2>&1) || true
  local c
  c=$(grep -h '^summary' "$d"/cg.*.1 2>/dev/null | awk '{print $2}')
  rm -rf "$d"
  [ -n "$c" ] || { echo "callgrind saw no execve for: $*" >&2; exit 1; }
  echo "$c"
}

floor=() libs=() libstls=() shim=() plain=()
for i in $(seq 1 "$n"); do
  floor+=("$(count "$out/floor" /bin/true)")
  libs+=("$(count "$out/libs" /bin/true)")
  libstls+=("$(count "$out/libstls" /bin/true)")
  shim+=("$(count "$out/shim" "${args[@]}" --root "$out/root-$i" -- /bin/true)")
  plain+=("$(count "$out/shim-plain" "${args[@]}" --root "$out/plain-$i" -- /bin/true)")
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mf=$(median "${floor[@]}") ms=$(median "${shim[@]}") mp=$(median "${plain[@]}")
ml=$(median "${libs[@]}") mt=$(median "${libstls[@]}")
echo "instructions before execve, median of $n interleaved runs (10 secrets: 8 env, 2 files, dir backend, tmpfs)"
printf 'go-floor              %9d\n' "$mf"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
printf 'libraries alone       %9d  %sx\n' "$ml" "$(ratio "$ml" "$mf")"
printf 'libraries + tls, net  %9d  %sx\n' "$mt" "$(ratio "$mt" "$mf")"
printf 'make build            %9d  %sx\n' "$ms" "$(ratio "$ms" "$mf")"
printf 'go build / go install %9d  %sx\n' "$mp" "$(ratio "$mp" "$mf")"
echo "runs: floor ${floor[*]}"
echo "      libs  ${libs[*]}"
echo "      +tls  ${libstls[*]}"
echo "      shim  ${shim[*]}"
echo "      plain ${plain[*]}"
