#!/usr/bin/env bash
# `make demo`: plays the local demo with the binaries of the current build (BUILD_DIR, default build/asan).
# Needs root (network namespaces, iptables) and the control plane built by tests/controlplane/build.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/../../build/${PRESET:-asan}}
keep=()
[[ ${1:-} == --keep ]] && keep=(--keep)
if [[ $(id -u) != 0 ]]; then
  echo "make demo needs root: it creates network namespaces and iptables rules (nothing outside them)" >&2
  exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
exec "$build/tests/demo/podid-demo" --app "$build/tests/demo/podid-demo-app" --podidctl "$build/cli/podidctl" "${keep[@]}"
