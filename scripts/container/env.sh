# Sourced by the container scripts and tests: which podman configuration and which image names.
# shellcheck source=../env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/env.sh"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf}"
# The images the Dockerfile and docker-compose.yml name (docker.io/library/... as Docker spells them).
DEBIAN_SUITE="bookworm"
DEBIAN_IMAGE="docker.io/library/debian:bookworm-slim"
NODE_IMAGE="docker.io/library/node:$NODE_VERSION-bookworm-slim"
REDIS_IMAGE="docker.io/library/redis:7.4-alpine"
# deploy/pod-template.yaml's image (the maintenance page), for the local cluster's real node.
PAGE_IMAGE="docker.io/nginxinc/nginx-unprivileged:1.27-alpine"
# What Node $NODE_VERSION bundles (its CHANGELOG), laid into the node stand-in as the official image does.
NPM_VERSION="11.19.0"
COREPACK_VERSION="0.36.0"
CRITSVC_IMAGE_CACHE="$CRITSVC_CACHE/images"
