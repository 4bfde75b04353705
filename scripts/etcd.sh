#!/usr/bin/env bash
# Print the path of an etcd binary for the tests, installing Debian's
# etcd-server package first when there is none (root only; etcd 3.4, seconds).
set -euo pipefail
if p=$(command -v etcd); then
  echo "$p"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "etcd is missing and this is not root: run 'sudo apt-get install etcd-server' (the Kubernetes tests need it)" >&2
  exit 1
fi
echo "installing etcd-server (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends etcd-server >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends etcd-server >&2; }
# The package may start a system etcd on the default ports; the tests run
# their own, on ports of their own, and do not need it.
command -v etcd
