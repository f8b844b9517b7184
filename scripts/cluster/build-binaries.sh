#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd and kwok from the Go module proxy into a cache outside the repo,
# and with CRITSVC_NODE=real kubelet and kube-proxy too (the local cluster's real node),
# keyed by version, so only the first run on a machine pays for the build (as envtest does).
# k8s.io/kubernetes cannot be `go install`ed: its go.mod pins ~30 staging modules at v0.0.0
# with replace lines that are ignored for dependencies. A throwaway module requiring it and
# replacing each staging module with its matching v0.X.Y tag is the known workaround.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.35}"
CACHE="${CRITSVC_CACHE:-$HOME/.cache/critsvc}"
BIN="$CACHE/bin"
APISERVER="$BIN/kube-apiserver-$K8S_VERSION"
CONTROLLER_MANAGER="$BIN/kube-controller-manager-$K8S_VERSION"
SCHEDULER="$BIN/kube-scheduler-$K8S_VERSION"
# The tests shell out to kubectl (apply -k, kustomize): the same version as the API server.
KUBECTL="$BIN/kubectl-$K8S_VERSION"
ETCD="$BIN/etcd-$ETCD_VERSION"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
KWOK="$BIN/kwok-$KWOK_VERSION"
# CRITSVC_CLUSTER=bare: only kube-apiserver + etcd are needed (no controllers, scheduler or nodes).
MODE="${CRITSVC_CLUSTER:-full}"
# CRITSVC_NODE=real: kubelet and kube-proxy for the real node (scripts/cluster/node.ts).
NODE="${CRITSVC_NODE:-}"
KUBELET="$BIN/kubelet-$K8S_VERSION"
KUBE_PROXY="$BIN/kube-proxy-$K8S_VERSION"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

die() { echo "build-binaries: $*" >&2; exit 1; }
command -v go >/dev/null || die "Go is not installed (needed to build the control plane's components); install Go >= 1.26"
mkdir -p "$BIN"

# One build at a time per cache: parallel test runs would otherwise race on the same output.
exec 9>"$CACHE/build.lock"
flock 9

# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl share one throwaway module and one
# `go build` (one compilation of the packages they share). Only the missing ones are built.
build_kubernetes() {
  local cmds=() c
  local wanted=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  [ "$NODE" = real ] && wanted+=(kubelet kube-proxy)
  for c in "${wanted[@]}"; do
    [ "$MODE" = bare ] && [ "$c" != kube-apiserver ] && [ "$c" != kubectl ] && continue
    [ -x "$BIN/$c-$K8S_VERSION" ] || cmds+=("$c")
  done
  [ "${#cmds[@]}" -eq 0 ] && return 0
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local work; work="$(mktemp -d)"; trap 'rm -rf "$work"' RETURN
  echo "build-binaries: building ${cmds[*]} $K8S_VERSION (first run only; 10-20 min cold)" >&2
  local modfile json
  json="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>&1)" \
    || die "${cmds[*]} $K8S_VERSION: step 'download k8s.io/kubernetes from the Go module proxy' failed: $(echo "$json" | sed -n 's/.*"Error": "\(.*\)".*/\1/p' | head -1)"
  modfile="$(echo "$json" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$modfile" ] || die "${cmds[*]} $K8S_VERSION: step 'download k8s.io/kubernetes' gave no go.mod"
  {
    echo "module critsvc.local/kubernetes-build"
    grep -E '^(go|godebug) ' "$modfile"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    # Every staging module (the list grows by release, so read it rather than hard-code it).
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$modfile" \
      | awk -v v="v0.$minor.${K8S_VERSION##*.}" '{print "replace " $1 " => " $1 " " v}'
  } > "$work/go.mod"
  {
    echo 'package main'
    for c in "${cmds[@]}"; do echo "import _ \"k8s.io/kubernetes/cmd/$c\""; done
  } > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; die "${cmds[*]} $K8S_VERSION: step 'go mod tidy' failed (see above)"; }
  local pkg=k8s.io/component-base/version pkgs=()
  for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  mkdir -p "$work/out"
  (cd "$work" && go build -trimpath -o "$work/out/" \
      -ldflags "-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" \
      "${pkgs[@]}") || die "${cmds[*]} $K8S_VERSION: step 'go build' failed (see above)"
  for c in "${cmds[@]}"; do
    [ -x "$work/out/$c" ] || die "$c $K8S_VERSION: step 'go build' produced no binary"
    mv "$work/out/$c" "$BIN/$c-$K8S_VERSION"
  done
}

build_kwok() {
  [ "$MODE" = bare ] && return 0
  [ -x "$KWOK" ] && return 0
  local work; work="$(mktemp -d)"; trap 'rm -rf "$work"' RETURN
  echo "build-binaries: building kwok $KWOK_VERSION (first run only; ~3 min cold)" >&2
  GOBIN="$work" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" \
    || die "kwok $KWOK_VERSION: step 'go install sigs.k8s.io/kwok/cmd/kwok' failed (see above)"
  mv "$work/kwok" "$KWOK"
}

build_etcd() {
  [ -x "$ETCD" ] && return 0
  local work; work="$(mktemp -d)"; trap 'rm -rf "$work"' RETURN
  echo "build-binaries: building etcd $ETCD_VERSION (first run only)" >&2
  printf 'module critsvc.local/etcd-build\ngo 1.24\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  printf 'package main\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; die "etcd $ETCD_VERSION: step 'go mod tidy' failed (see above)"; }
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$ETCD.tmp" go.etcd.io/etcd/server/v3) \
    || die "etcd $ETCD_VERSION: step 'go build' failed (see above)"
  mv "$ETCD.tmp" "$ETCD"
}

build_etcd
build_kubernetes
build_kwok
echo "KUBE_APISERVER=$APISERVER"
echo "ETCD=$ETCD"
echo "KUBECTL=$KUBECTL"
if [ "$MODE" != bare ]; then
  echo "KUBE_CONTROLLER_MANAGER=$CONTROLLER_MANAGER"
  echo "KUBE_SCHEDULER=$SCHEDULER"
  echo "KWOK=$KWOK"
  if [ "$NODE" = real ]; then
    echo "KUBELET=$KUBELET"
    echo "KUBE_PROXY=$KUBE_PROXY"
  fi
fi
