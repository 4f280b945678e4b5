#!/usr/bin/env bash
# Builds kube-apiserver and etcd from their Go modules into a cache outside the repository and prints
# the directory. Idempotent: a cached pair of the right versions is reused. Never commit the binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K8S=v1.37.2
ETCD=v3.7.3
cache=${PODID_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podid/controlplane/$K8S-etcd$ETCD}
mkdir -p "$cache"
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
# The version checks capture the output first: `| grep -q` under pipefail can fail on SIGPIPE and rebuild.
have() { [[ -x $1 ]] && [[ $("$1" --version 2>/dev/null || true) == *"$2"* ]]; }
if ! have "$cache/kube-apiserver" "$K8S"; then
  echo "building kube-apiserver $K8S into $cache (a cold build takes several minutes)" >&2
  (cd "$here" && go build -trimpath -pgo=off \
     -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37" \
     -o "$cache/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$cache/kube-apiserver.tmp" "$cache/kube-apiserver"
fi
if ! have "$cache/etcd" "${ETCD#v}"; then
  echo "building etcd $ETCD into $cache" >&2
  (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$cache/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$cache/etcd.tmp" "$cache/etcd"
fi
echo "$cache"
