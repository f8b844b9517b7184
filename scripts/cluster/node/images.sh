#!/usr/bin/env bash
# The images the local cluster's real node runs, built here (no image can be pulled) and imported
# into its containerd's k8s.io namespace: `images.sh <containerd socket>`. Prints each name.
#   critsvc.local/pause:1   the pod sandbox image: images/pause, a static Go program
#   critsvc.local/app:1     the "real app" of the real-node test and bench: images/app
#   nginxinc/nginx-unprivileged:1.27-alpine  deploy/pod-template.yaml's image, a stand-in
#                           (Debian's nginx-light) from scripts/container/base-images.sh --page
# Built once into podman's store and $CRITSVC_CACHE/images (docker archives, keyed by the
# sources' hash); a fresh containerd only re-imports them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
# shellcheck source=../../container/env.sh
source "$ROOT/scripts/container/env.sh"
SOCK="${1:?usage: images.sh <containerd socket>}"
die() { echo "node-images: $*" >&2; exit 1; }
say() { echo "node-images: $*" >&2; }
command -v ctr >/dev/null || die "ctr is missing (apt-get install containerd; scripts/setup.sh test installs it)"
command -v podman >/dev/null || die "podman is missing (scripts/setup.sh test installs it)"
mkdir -p "$CRITSVC_IMAGE_CACHE"
exec 7>"$CRITSVC_IMAGE_CACHE/node-images.lock"
flock 7

PAUSE_IMAGE="critsvc.local/pause:1"
APP_IMAGE="critsvc.local/app:1"

go_image() { # <name> <source dir> <entrypoint>
  local name="$1" src="$2" entry="$3" hash archive
  hash="$(cat "$src"/*.go "$src/go.mod" | sha256sum | cut -c1-12)"
  archive="$CRITSVC_IMAGE_CACHE/$(basename "$src")-$hash.docker.tar"
  if [ ! -s "$archive" ]; then
    command -v go >/dev/null || die "Go is needed to build $name"
    local work; work="$(mktemp -d)"
    say "building $name from $(realpath --relative-to="$ROOT" "$src")"
    (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/rootfs/$entry" .) || die "go build of $name failed"
    tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
    podman rmi --force "$name" >/dev/null 2>&1 || true
    podman import --quiet --change "ENTRYPOINT [\"/$entry\"]" --change "LABEL critsvc.source=$hash" "$work/rootfs.tar" "$name" >/dev/null \
      || die "podman import $name failed"
    podman save --quiet --format docker-archive -o "$archive.tmp" "$name" || die "podman save $name failed"
    mv "$archive.tmp" "$archive"
    rm -rf "$work"
  fi
  echo "$archive"
}

page_archive() {
  bash "$ROOT/scripts/container/base-images.sh" --page >&2 || die "the page image failed (see above)"
  local id archive
  id="$(podman image inspect --format '{{.Id}}' "$PAGE_IMAGE")" || die "no $PAGE_IMAGE in podman's store"
  archive="$CRITSVC_IMAGE_CACHE/page-${id:0:12}.docker.tar"
  if [ ! -s "$archive" ]; then
    podman save --quiet --format docker-archive -o "$archive.tmp" "$PAGE_IMAGE" || die "podman save $PAGE_IMAGE failed"
    mv "$archive.tmp" "$archive"
  fi
  echo "$archive"
}

import() { # <archive> <name>
  local err have
  err="$(ctr --address "$SOCK" -n k8s.io images import "$1" 2>&1 >/dev/null)" || die "ctr images import $1 failed: $err"
  have="$(ctr --address "$SOCK" -n k8s.io images ls -q)"
  grep -qxF "$2" <<<"$have" || die "after import, containerd has no $2 (has: $(tr '\n' ' ' <<<"$have"))"
  echo "$2"
}

import "$(go_image "$PAUSE_IMAGE" "$HERE/images/pause" pause)" "$PAUSE_IMAGE"
import "$(go_image "$APP_IMAGE" "$HERE/images/app" app)" "$APP_IMAGE"
import "$(page_archive)" "$PAGE_IMAGE"
