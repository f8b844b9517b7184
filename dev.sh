#!/usr/bin/env bash
# The two commands a newcomer needs; each installs what is missing first (scripts/setup.sh):
#   ./dev.sh start   run the pipeline (against KUBECONFIG, or a local control plane when none is given)
#   ./dev.sh test    run every test (unit + integration against a real kube-apiserver and redis-server)
# Anything else is passed to pnpm with the pinned Node on PATH: ./dev.sh cluster up
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
bash scripts/setup.sh "${1:-}"
# shellcheck source=scripts/env.sh
source scripts/env.sh

case "${1:-}" in
  test)
    shift
    out="$(mktemp -d)/vitest.json"
    set +e
    pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$out" "$@"
    rc=$?
    set -e
    node scripts/test-summary.ts "$out" || true
    exit "$rc"
    ;;
  start)
    shift
    exec pnpm start "$@"
    ;;
  "")
    echo "usage: ./dev.sh start | test | <pnpm args>" >&2
    exit 2
    ;;
  *)
    exec pnpm "$@"
    ;;
esac
