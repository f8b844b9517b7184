#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache outside the repo,
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
ETCD="$BIN/etcd-$ETCD_VERSION"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

die() { echo "build-binaries: $*" >&2; exit 1; }
command -v go >/dev/null || die "Go is not installed (needed to build kube-apiserver and etcd); install Go >= 1.26"
mkdir -p "$BIN"

# One build at a time per cache: parallel test runs would otherwise race on the same output.
exec 9>"$CACHE/build.lock"
flock 9

build_apiserver() {
  [ -x "$APISERVER" ] && return 0
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local work; work="$(mktemp -d)"; trap 'rm -rf "$work"' RETURN
  echo "build-binaries: building kube-apiserver $K8S_VERSION (first run only; 10-20 min cold)" >&2
  local modfile
  modfile="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')" \
    || die "cannot download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
  [ -f "$modfile" ] || die "go mod download gave no go.mod for k8s.io/kubernetes@$K8S_VERSION"
  {
    echo "module critsvc.local/apiserver-build"
    grep -E '^(go|godebug) ' "$modfile"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    # Every staging module (the list grows by release, so read it rather than hard-code it).
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$modfile" \
      | awk -v v="v0.$minor.${K8S_VERSION##*.}" '{print "replace " $1 " => " $1 " " v}'
  } > "$work/go.mod"
  printf 'package main\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; die "go mod tidy failed for kube-apiserver $K8S_VERSION"; }
  local pkg=k8s.io/component-base/version
  (cd "$work" && go build -trimpath -o "$APISERVER.tmp" \
      -ldflags "-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" \
      k8s.io/kubernetes/cmd/kube-apiserver) || die "go build of kube-apiserver $K8S_VERSION failed (see above)"
  mv "$APISERVER.tmp" "$APISERVER"
}

build_etcd() {
  [ -x "$ETCD" ] && return 0
  local work; work="$(mktemp -d)"; trap 'rm -rf "$work"' RETURN
  echo "build-binaries: building etcd $ETCD_VERSION (first run only)" >&2
  printf 'module critsvc.local/etcd-build\ngo 1.24\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  printf 'package main\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; die "go mod tidy failed for etcd $ETCD_VERSION"; }
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$ETCD.tmp" go.etcd.io/etcd/server/v3) \
    || die "go build of etcd $ETCD_VERSION failed (see above)"
  mv "$ETCD.tmp" "$ETCD"
}

build_etcd
build_apiserver
echo "KUBE_APISERVER=$APISERVER"
echo "ETCD=$ETCD"
