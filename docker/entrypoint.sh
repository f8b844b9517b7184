#!/bin/sh
# Runs one critsvc process; the same command works outside a container from the repo root.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
  watcher-services|watcher-pods|watcher-crds|handler|dashboard)
    exec node "$here/apps/$1/src/main.ts"
    ;;
  *)
    echo "usage: entrypoint.sh watcher-services|watcher-pods|watcher-crds|handler|dashboard (got \"${1:-}\")" >&2
    exit 2
    ;;
esac
