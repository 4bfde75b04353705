#!/usr/bin/env bash
# Print the path of a kube-apiserver binary for the tests, building it first
# when it is not cached.
#
# kube-apiserver has no package, so it is built from the Go module proxy in a
# small wrapper module of its own: the project's go.mod stays free of
# Kubernetes. k8s.io/kubernetes requires its staging modules at v0.0.0 and
# points them at ./staging, which only works inside its own repository; the
# wrapper replaces each of them with the published v0.$MINOR.$PATCH.
#
# The binary (about 119 MB) is cached under ~/.cache, keyed by the Kubernetes
# and Go versions. The build cache (about 4 GB) is thrown away afterwards.
# The first build takes 11 to 20 minutes on two cores.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
staging=v0.${K8S_VERSION#v1.}
gover=$(go env GOVERSION)
cache=${FE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flyte-entrypoint}
bin=$cache/kube-apiserver-$K8S_VERSION-$gover/kube-apiserver

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kube-apiserver-build.XXXXXX")
cleanup() {
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export GOCACHE=$work/gocache GOMODCACHE=$work/gomodcache GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$work/wrap"
cd "$work/wrap"

echo "building kube-apiserver $K8S_VERSION with $gover (once; 11-20 minutes)" >&2
go mod init kube-apiserver-wrapper >/dev/null 2>&1
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -n "$gomod" ] || { echo "k8s.io/kubernetes@$K8S_VERSION: no go.mod from the module proxy" >&2; exit 1; }

{
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo "replace ("
  sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9.-]*\) => \./staging/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
  echo ")"
} >>go.mod
go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" >&2

minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
ver=k8s.io/component-base/version
ldflags="-s -w -X $ver.gitVersion=$K8S_VERSION -X $ver.gitMajor=1 -X $ver.gitMinor=$minor"
ldflags="$ldflags -X $ver.gitTreeState=clean -X $ver.buildDate=1970-01-01T00:00:00Z"
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"

mkdir -p "$(dirname "$bin")"
nice -n 19 go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$bin.tmp" "$bin"
echo "$bin"
