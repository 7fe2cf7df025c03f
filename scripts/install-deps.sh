#!/bin/sh
# Installs the Debian packages zeropoint needs, only those that are missing.
# Called by `make deps` (and so by `make`, `make test` and `make run`).
set -eu
PKGS="build-essential clang libclang-rt-14-dev pkg-config libsimde-dev \
  libcjson-dev libcsv-dev libbenchmark-dev gnuplot-nox \
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev \
  libpng-dev libjpeg-dev zlib1g-dev libopenblas-dev libdnnl-dev libcmocka-dev \
  dataset-fashion-mnist parallel chromium slurmctld slurmd slurm-client munge"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: need root to install:$missing (run 'sudo make deps')" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
