#!/usr/bin/env bash
# make demo: the main job on the embedded default store, with no root and no
# cluster. It fills a throwaway local store with `create secret`, as a user
# would, shows
# the dry-run plan for the sample task spec, then runs a command with the
# secrets in place under a temporary --root. Values are never printed: the
# command prints their lengths and the files' modes.
set -euo pipefail
bin=${1:-bin/flyte-entrypoint}
cd "$(dirname "$0")/.."
# /dev/shm is a tmpfs, where production keeps the mount; elsewhere the shim
# warns that secret files may reach a disk.
shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
work=$(mktemp -d "$shm/flyte-entrypoint-demo.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

export FLYTE_ENTRYPOINT_STORE="$work/store"
export FLYTE_ENTRYPOINT_ROOT="$work/root"
export FLYTE_ENTRYPOINT_LOG_FORMAT=console
spec=testdata/specs/demo-task.json

echo "== create secret: a throwaway local store at $FLYTE_ENTRYPOINT_STORE"
# The values are demo values. --value is the short way; a real value would
# come from a file (--from-file), a pipe or the hidden prompt, so that it
# stays out of the shell's history.
"$bin" create secret openai-key --value sk-demo-org-wide
"$bin" create secret db-password --value demo-password-for-flytesnacks -p flytesnacks -d development
"$bin" create secret db-password --value demo-org-password-not-used
printf -- '-----BEGIN CERTIFICATE-----\nMIIdemo\n-----END CERTIFICATE-----\n' > "$work/tls.crt"
"$bin" create secret tls-cert --from-file "$work/tls.crt"
"$bin" get secret

echo
echo "== dry-run: the plan for $spec in flytesnacks/development"
"$bin" dry-run --spec "$spec" --project flytesnacks --domain development -- python -m task

echo
echo "== run: the command sees the secrets"
"$bin" --spec "$spec" --project flytesnacks --domain development -- sh -c '
  echo "OPENAI_API_KEY: ${#OPENAI_API_KEY} bytes"
  echo "POSTGRES_DB_PASSWORD: ${#POSTGRES_DB_PASSWORD} bytes (the project-scoped one)"
  echo "FLYTE_SECRETS_DEFAULT_DIR=$FLYTE_SECRETS_DEFAULT_DIR"
  echo "files under --root:"
  cd "$FLYTE_ENTRYPOINT_ROOT$FLYTE_SECRETS_DEFAULT_DIR" && ls -lL certs | sed "s/^/  /"
'
