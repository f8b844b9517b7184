#!/usr/bin/env bash
# Builds critsvc's own Dockerfile, unchanged, with podman: `build-image.sh [tag]` (default
# critsvc:local, the name docker-compose.yml gives it). The base images come from
# base-images.sh (never pulled). Prints the image id on stdout.
#
# This machine's egress goes through a TLS-inspecting proxy whose CA the host trusts (through
# NODE_EXTRA_CA_CERTS and the system bundle); npm and pnpm in a RUN step would not. The host's
# bundle and an npmrc naming it (cafile) are mounted into the RUN steps only (podman build -v):
# nothing of it lands in an image layer, and the Dockerfile stays as users build it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=env.sh
source "$HERE/env.sh"
TAG="${1:-critsvc:local}"

bash "$HERE/base-images.sh" --no-redis
mounts=()
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
if [ -f "$ca" ]; then
  cp "$ca" "$tmp/ca.crt"
  printf 'cafile=/run/critsvc-build/ca.crt\n' > "$tmp/npmrc"
  mounts=(-v "$tmp/ca.crt:/run/critsvc-build/ca.crt:ro" -v "$tmp/npmrc:/root/.npmrc:ro")
fi
podman build --pull=never --layers "${mounts[@]}" --iidfile "$tmp/iid" -t "$TAG" "$ROOT" >&2
cat "$tmp/iid"; echo
