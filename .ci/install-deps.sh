#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need. Idempotent; needs root.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  librocksdb-dev libzstd-dev libssl-dev libcli11-dev catch2
  libiptc-dev libip4tc-dev libxtables-dev libnetfilter-conntrack-dev iptables iproute2 nftables
  libspdlog-dev libfmt-dev libyaml-cpp-dev libbenchmark-dev wrk
  libcurl4-openssl-dev clang-tidy clang-format openssl curl procps python3-venv shellcheck
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
