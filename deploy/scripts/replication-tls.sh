#!/usr/bin/env bash
# Prints a kubernetes.io/tls Secret for the controller's replication endpoint: a new CA (ca.crt, which the
# node proxies trust) and a certificate for the controller Service (tls.crt, tls.key), EC P-256.
# For the manifests in deploy/infra (the Helm chart makes its own; cert-manager works as well):
#   deploy/scripts/replication-tls.sh | kubectl apply -f -
# Options: --namespace NS (default), --service NAME (mic), --secret NAME (aad-pod-identity-replication-tls),
#          --days N (3650).
set -euo pipefail

namespace=default service=mic secret=aad-pod-identity-replication-tls days=3650
while (($#)); do
  case $1 in
    --namespace | --service | --secret | --days)
      [[ $# -ge 2 ]] || { echo "replication-tls.sh: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"
      shift 2
      ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "replication-tls.sh: unknown argument '$1' (try --help)" >&2
      exit 2
      ;;
  esac
done
[[ $days =~ ^[0-9]+$ ]] || { echo "replication-tls.sh: --days must be a number" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
host="$service.$namespace.svc"

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=$service-replication-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
  -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.cluster.local\nextendedKeyUsage=serverAuth\n' \
  "$host" "$service" "$namespace" "$host" >"$dir/ext"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days "$days" \
  -extfile "$dir/ext" -out "$dir/tls.crt" 2>/dev/null

b64() { base64 -w0 <"$1"; }
cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$dir/tls.crt")
  tls.key: $(b64 "$dir/tls.key")
  ca.crt: $(b64 "$dir/ca.crt")
YAML
