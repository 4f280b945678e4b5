#!/usr/bin/env bash
# Builds helm from its Go module (pinned in go.mod here) into a cache outside the repository and prints the
# path of the binary. Idempotent: a cached binary of the right version is reused. Never commit the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
HELM=v3.22.0
K8S_MINOR=37  # k8s.io/client-go v0.37 in go.mod: what `helm template` assumes without --kube-version
cache=${PODID_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podid/helm/$HELM}
mkdir -p "$cache"
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM"
for pkg in chartutil lint/rules; do
  ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$K8S_MINOR"
done
# No `| grep -q` here: under pipefail an early grep exit can SIGPIPE the writer and force a needless rebuild.
cached_version() { "$cache/helm" version --template '{{.Version}}' 2>/dev/null || true; }
if ! { [[ -x $cache/helm && -f $cache/ldflags ]] && [[ $(<"$cache/ldflags") == "$ldflags" ]] &&
       [[ $(cached_version) == "$HELM" ]]; }; then
  echo "building helm $HELM into $cache (a cold build takes a few minutes)" >&2
  (cd "$here" && go build -trimpath \
     -ldflags "$ldflags" \
     -o "$cache/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$cache/helm.tmp" "$cache/helm"
  printf '%s' "$ldflags" >"$cache/ldflags"
fi
echo "$cache/helm"
