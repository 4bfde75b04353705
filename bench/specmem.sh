#!/usr/bin/env bash
# Peak memory of `dry-run --spec FILE` for large specs of every format,
# against each file's size (docs/BEHAVIOUR.md, Limits): parsing must use
# memory in proportion to its input, and a spec over the limits is refused
# before it is decoded. The max RSS is taken from wait4 after a plain fork
# and exec (Go's os/exec uses vfork, whose accounting would charge the
# parent's memory to the child; a plain fork still starts the child at the
# parent's size, about 10 MB here, which bounds the baseline from above).
# Two ratios: the whole max RSS per spec byte, and the RSS above the empty
# spec's per spec byte.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tags=$(sed -n 's/^TAGS *:= *//p' Makefile)
CGO_ENABLED=0 go build -trimpath -tags "$tags" -o "$out/flyte-entrypoint" ./cmd/flyte-entrypoint
mkdir "$out/specs"
go run ./bench/specmem -dir "$out/specs" >"$out/list"
python3 - "$out/flyte-entrypoint" "$out/specs" "$out/list" <<'PY'
import os, sys
shim, specs, listing = sys.argv[1:4]
def peak(path):
    best = None
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1); os.dup2(fd, 2)
            os.execve(shim, [shim, "dry-run", "--output", "json", "--backends", "env", "--spec", path],
                      {"PATH": "/usr/bin:/bin", "FLYTE_ENTRYPOINT_LOG_LEVEL": "error"})
        _, status, ru = os.wait4(pid, 0)
        rss = ru.ru_maxrss * 1024
        best = rss if best is None else min(best, rss)
    return best, os.waitstatus_to_exitcode(status)
base = None
print("%-52s %10s %10s %9s %9s %s" % ("spec", "bytes", "max RSS", "RSS/bytes", "above/b", "exit"))
for line in open(listing):
    name, desc = line.rstrip("\n").split("\t")
    path = os.path.join(specs, name)
    size = os.path.getsize(path)
    rss, code = peak(path)
    if base is None:
        base = rss
    print("%-52s %10d %10d %8.2fx %8.2fx %d" % (desc, size, rss, rss / size, (rss - base) / size, code))
PY
