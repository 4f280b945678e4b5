#!/usr/bin/env bash
# deploy/scripts against a fake `az` that records its calls: role-assignment.sh grants the right roles on the
# right scopes (finding the kubelet identity of an MSI cluster), its --dry-run calls nothing and prints a
# script that makes exactly the same calls; replication-tls.sh prints a certificate the CA verifies for the
# Service's name; and every shell script of the packaging is shellcheck-clean.
set -euo pipefail
src=${1:?usage: scripts_test.sh <source dir>}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

mkdir "$work/bin"
cat >"$work/bin/az" <<'AZ'
#!/usr/bin/env bash
[[ -z ${AZ_FORBID:-} ]] || { echo "az called during a dry run: $*" >&2; exit 99; }
echo "$*" >>"$AZ_LOG"
case "$*" in
  *"--query nodeResourceGroup"*) echo MC_rg_c_eastus ;;
  *"--query servicePrincipalProfile.clientId"*) echo msi ;;
  *"--query identityProfile.kubeletidentity.clientId"*) echo 1111-kubelet ;;
  "role assignment create"*) echo '{}' ;;
  *) echo "fake az: unexpected: $*" >&2; exit 98 ;;
esac
AZ
chmod +x "$work/bin/az"
export PATH="$work/bin:$PATH" SUBSCRIPTION_ID=sub-1 RESOURCE_GROUP=rg CLUSTER_NAME=c IDENTITY_RESOURCE_GROUP=ids-rg
script="$src/deploy/scripts/role-assignment.sh"

# 1. A real run grants the three roles to the kubelet identity.
AZ_LOG="$work/real.log" bash "$script" >/dev/null
grep -c '^role assignment create' "$work/real.log" | grep -qx 3 || fail "expected 3 role assignments: $(cat "$work/real.log")"
for want in \
  "--role Managed Identity Operator --assignee 1111-kubelet --scope /subscriptions/sub-1/resourcegroups/MC_rg_c_eastus" \
  "--role Virtual Machine Contributor --assignee 1111-kubelet --scope /subscriptions/sub-1/resourcegroups/MC_rg_c_eastus" \
  "--role Managed Identity Operator --assignee 1111-kubelet --scope /subscriptions/sub-1/resourcegroups/ids-rg"; do
  grep -qF -- "role assignment create $want" "$work/real.log" || fail "missing: az role assignment create $want"
done

# 2. --dry-run calls nothing; its output, run as a script, makes the same calls as the real run.
AZ_FORBID=1 bash "$script" --dry-run >"$work/dry.sh" || fail "dry run failed"
grep -q "az role assignment create --role 'Virtual Machine Contributor'" "$work/dry.sh" || fail "dry run: $(cat "$work/dry.sh")"
AZ_LOG="$work/replayed.log" bash "$work/dry.sh" >/dev/null
diff -u "$work/real.log" "$work/replayed.log" || fail "the dry run's script differs from the real run"

# 3. Known values are used without lookups.
AZ_FORBID=1 NODE_RESOURCE_GROUP=nodes CLUSTER_IDENTITY_CLIENT_ID=2222 bash "$script" --dry-run >"$work/known.sh"
grep -q 'aks show' "$work/known.sh" && fail "looked up what was given: $(cat "$work/known.sh")"
grep -qF -- "--assignee 2222 --scope /subscriptions/sub-1/resourcegroups/nodes" "$work/known.sh" ||
  fail "known values: $(cat "$work/known.sh")"

# 4. Missing inputs are refused by name.
if out=$(env -u CLUSTER_NAME bash "$script" --dry-run 2>&1); then fail "ran without CLUSTER_NAME"; fi
[[ $out == *CLUSTER_NAME* ]] || fail "the error does not name CLUSTER_NAME: $out"

# 5. The replication certificate verifies against its CA for the Service's name.
bash "$src/deploy/scripts/replication-tls.sh" --namespace kube-system --service podid-mic >"$work/secret.yaml"
for key in tls.crt ca.crt; do
  sed -n "s/^  ${key//./\\.}: //p" "$work/secret.yaml" | base64 -d >"$work/$key"
done
openssl verify -CAfile "$work/ca.crt" "$work/tls.crt" >/dev/null || fail "tls.crt does not verify against ca.crt"
openssl x509 -in "$work/tls.crt" -noout -ext subjectAltName | grep -q 'DNS:podid-mic.kube-system.svc' ||
  fail "no SAN for podid-mic.kube-system.svc"

# 6. shellcheck, last: without it the checks above still ran, and the test says what is missing.
if ! command -v shellcheck >/dev/null; then
  echo "PODID-SKIP: shellcheck missing (apt-get install shellcheck); the behaviour checks passed"
  exit 0
fi
shellcheck "$src"/deploy/scripts/*.sh "$src/tests/helm/build.sh" "$src/tests/integration/deploy/scripts_test.sh"
echo "scripts: role-assignment, dry run, replication-tls and shellcheck passed"
