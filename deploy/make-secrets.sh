#!/usr/bin/env bash
# Writes deploy/secrets.env once (never committed: .gitignore): the Redis password and the queue
# dashboard's basic-auth credentials, random. `kubectl apply -k deploy/` turns it into the Secret
# critsvc-secrets. Run it again with --rotate to make new ones (then re-apply: the pods restart).
set -euo pipefail
out="$(dirname "$0")/secrets.env"
if [ -f "$out" ] && [ "${1:-}" != --rotate ]; then
  echo "make-secrets: $out exists (--rotate to replace it)" >&2
  exit 0
fi
command -v openssl >/dev/null || { echo "make-secrets: openssl is needed" >&2; exit 1; }
umask 077
{
  echo "REDIS_PASSWORD=$(openssl rand -hex 24)"
  echo "DASHBOARD_USER=admin"
  echo "DASHBOARD_PASSWORD=$(openssl rand -hex 16)"
} > "$out"
echo "make-secrets: wrote $out (dashboard user: admin; password: grep DASHBOARD_PASSWORD $out)" >&2
