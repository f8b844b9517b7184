# Sourced by scripts: the pinned toolchain versions and where they live (outside the repo).
NODE_VERSION="24.21.0"
PNPM_VERSION="10.34.9"
CRITSVC_CACHE="${CRITSVC_CACHE:-$HOME/.cache/critsvc}"
CRITSVC_NODE_DIR="$CRITSVC_CACHE/node-v$NODE_VERSION"
CRITSVC_PNPM_DIR="$CRITSVC_CACHE/pnpm-$PNPM_VERSION"
# Tools scripts/setup.sh links in (kubectl at the local control plane's version).
CRITSVC_TOOLS_DIR="$CRITSVC_CACHE/tools"
export CRITSVC_CACHE
export PATH="$CRITSVC_NODE_DIR/bin:$CRITSVC_PNPM_DIR/bin:$CRITSVC_TOOLS_DIR:$PATH"
