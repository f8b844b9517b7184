#!/usr/bin/env bash
# Writes deploy/secrets.env once (never committed: .gitignore): one Redis password per ACL user
# (critsvc-admin, each watcher, the handler, the dashboard: deploy/redis.yaml) and the queue
# dashboard's basic-auth credentials, random. `kubectl apply -k deploy/` turns it into the Secret
# critsvc-secrets. Run again, it adds what an older file lacks (the per-user Redis passwords of
# 2026-12-07) and keeps the rest; --rotate makes new ones (then re-apply: the pods restart).
set -euo pipefail
out="$(dirname "$0")/secrets.env"
command -v openssl >/dev/null || { echo "make-secrets: openssl is needed" >&2; exit 1; }
umask 077
if [ "${1:-}" = --rotate ]; then rm -f "$out"; fi
touch "$out"
added=()
add() { # key value: appended unless the file has the key
  grep -q "^$1=" "$out" || { echo "$1=$2" >> "$out"; added+=("$1"); }
}
for user in ADMIN WATCHER_SERVICES WATCHER_PODS WATCHER_CRDS HANDLER DASHBOARD; do
  add "REDIS_${user}_PASSWORD" "$(openssl rand -hex 24)"
done
add DASHBOARD_USER admin
add DASHBOARD_PASSWORD "$(openssl rand -hex 16)"
if [ ${#added[@]} -eq 0 ]; then
  echo "make-secrets: $out has every key (--rotate to replace them)" >&2
else
  echo "make-secrets: wrote ${added[*]} to $out (dashboard user: admin; password: grep DASHBOARD_PASSWORD $out)" >&2
fi
if grep -q '^REDIS_PASSWORD=' "$out"; then
  echo "make-secrets: REDIS_PASSWORD (one password for all, before 2026-12-07) is no longer used; remove it once every process has rolled out" >&2
fi
