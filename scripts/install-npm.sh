#!/bin/sh
# Installs npm packages into $BUILD/npm (never globally, never into the source
# tree), only those missing or at another version. Used by
# scripts/bench_float_inference.sh for ONNX Runtime (onnxruntime-node, whose CPU
# binaries ship inside the package, so no install script needs to run or fetch
# anything) and meant for any later script or test that needs ONNX Runtime.
#
# usage: scripts/install-npm.sh [NAME@VERSION ...]   (default: onnxruntime-node@$ORT_VERSION)
#   BUILD=build/release  ORT_VERSION=1.30.0
# Afterwards: NODE_PATH=$BUILD/npm/node_modules node script.js
# Exit status: 0 installed (or already there), 1 npm or node missing, 2 npm install failed.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/release}
ORT_VERSION=${ORT_VERSION:-1.30.0}
DIR=$BUILD/npm
[ $# -gt 0 ] || set -- "onnxruntime-node@$ORT_VERSION"
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "install-npm: '$tool' not found (apt-get install nodejs npm); cannot install: $*" >&2
        exit 1
    }
done
missing=""
for spec in "$@"; do
    rest=${spec#@}                       # a scoped name (@scope/name) starts with @
    case "$rest" in
    *@*) name=${spec%@*} want=${rest##*@} ;;
    *) name=$spec want="" ;;
    esac
    have=$(node -p "require(require('path').resolve(process.argv[1])).version" \
        "$DIR/node_modules/$name/package.json" 2>/dev/null || true)
    if [ -z "$have" ] || { [ -n "$want" ] && [ "$have" != "$want" ]; }; then
        missing="$missing $spec"
    fi
done
[ -z "$missing" ] && exit 0
mkdir -p "$DIR"
LOG=$DIR/install.log
echo "install-npm: installing$missing into $DIR" >&2
# --ignore-scripts: onnxruntime-node's postinstall would try to download CUDA
# binaries; the CPU ones are already in the package. Short fetch timeouts so that
# a machine without the network says so in a minute rather than hanging.
# shellcheck disable=SC2086
if ! npm install --prefix "$DIR" --ignore-scripts --save-exact --no-audit --no-fund --no-update-notifier \
        --fetch-retries=1 --fetch-timeout=60000 $missing >"$LOG" 2>&1; then
    if grep -qE 'ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENETUNREACH' "$LOG"; then
        echo "install-npm: the npm registry cannot be reached (no network?); could not install:$missing" >&2
    else
        echo "install-npm: npm install failed for:$missing" >&2
    fi
    echo "install-npm: npm's output is in $LOG; last lines:" >&2
    tail -n 5 "$LOG" >&2
    exit 2
fi
