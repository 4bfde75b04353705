#!/usr/bin/env bash
# The test suite with every server it needs: a real etcd and a real
# kube-apiserver for the Kubernetes tests (installed or built and cached
# first when missing: see scripts/etcd.sh and scripts/kube-apiserver.sh),
# and moto_server for the AWS tests (preinstalled; the tests start it).
# FE_ETCD and FE_KUBE_APISERVER, when set, name the binaries to use.
#
# Under CI=true a server that is missing fails the run. Elsewhere the tests
# that need it skip, and one line here says so; as a user other than root,
# so do the tests that need root (go test -v shows each one and why).
# `make test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

# missing WHAT TESTS [HINT]: a server the tests need is not here.
missing() {
  if [ "${CI:-}" = true ]; then
    echo "$1 is missing: the $2 tests need it${3:+ ($3)}" >&2
    exit 1
  fi
  echo "note: no $1 here${3:+ ($3)}: the $2 tests will skip" >&2
}

if [ "$(id -u)" != 0 ]; then
  echo "note: not root: the tests that need root will skip (go test -v shows which, and why)" >&2
fi
command -v moto_server >/dev/null || missing moto_server AWS "it comes preinstalled; it can't be installed here"
# etcd.sh installs etcd when it is missing, which needs root.
if [ -z "${FE_ETCD:-}" ] && [ "$(id -u)" != 0 ] && ! command -v etcd >/dev/null; then
  missing etcd Kubernetes "installing it needs root: sudo apt-get install etcd-server"
elif [ -z "${FE_ETCD:-}" ] && ! FE_ETCD=$(./scripts/etcd.sh); then
  missing etcd Kubernetes "scripts/etcd.sh could not install it: see above"
else
  export FE_ETCD
  echo "etcd: $FE_ETCD" >&2
  # Only with etcd: without it the Kubernetes tests skip, and the
  # kube-apiserver build (11-20 minutes the first time) would be for nothing.
  if FE_KUBE_APISERVER=${FE_KUBE_APISERVER:-$(./scripts/kube-apiserver.sh)}; then
    export FE_KUBE_APISERVER
    echo "kube-apiserver: $FE_KUBE_APISERVER" >&2
  else
    missing kube-apiserver Kubernetes "scripts/kube-apiserver.sh could not build it: see above"
  fi
fi
go vet ./...
go test -count=1 -timeout 10m "$@" ./...
# The packages whose lookups run concurrently, once more under the race
# detector (a map written by the fetches while the loop ranged over it got
# past the plain run).
go test -race -count=1 -timeout 10m "$@" ./resolver/... ./internal/httpc
