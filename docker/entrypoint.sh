#!/bin/sh
# Runs one critsvc process from its built JavaScript (apps/<process>/dist: `pnpm build`), so that
# Node's type stripper is never loaded; the same command works outside a container from the repo
# root once built. `@critsvc/shared` resolves to its dist/ under the critsvc-dist condition.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
  watcher-services|watcher-pods|watcher-crds|handler|dashboard)
    main="$here/apps/$1/dist/main.js"
    if [ ! -f "$main" ]; then
      echo "entrypoint.sh: $main is missing: run pnpm build first" >&2
      exit 2
    fi
    exec node --conditions=critsvc-dist "$main"
    ;;
  *)
    echo "usage: entrypoint.sh watcher-services|watcher-pods|watcher-crds|handler|dashboard (got \"${1:-}\")" >&2
    exit 2
    ;;
esac
