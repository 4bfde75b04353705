#!/usr/bin/env bash
# The test suite with every server it needs: a real etcd and a real
# kube-apiserver for the Kubernetes tests (installed or built and cached
# first when missing: see scripts/etcd.sh and scripts/kube-apiserver.sh),
# and moto_server for the AWS tests (preinstalled; the tests start it).
# Under CI=true a test that finds a server missing fails instead of
# skipping. `make test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v moto_server >/dev/null; then
  if [ "${CI:-}" = true ]; then
    echo "moto_server is missing: the AWS tests need it (it comes preinstalled; it can't be installed here)" >&2
    exit 1
  fi
  echo "note: no moto_server here: the AWS tests will skip" >&2
fi
FE_ETCD=$(./scripts/etcd.sh)
FE_KUBE_APISERVER=$(./scripts/kube-apiserver.sh)
export FE_ETCD FE_KUBE_APISERVER
echo "etcd: $FE_ETCD" >&2
echo "kube-apiserver: $FE_KUBE_APISERVER" >&2
go vet ./...
go test -count=1 -timeout 10m "$@" ./...
