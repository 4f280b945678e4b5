#!/usr/bin/env bash
# Grants the cluster identity what the controller needs in standard mode (managed mode needs none of it):
#   Managed Identity Operator   on the node resource group and on IDENTITY_RESOURCE_GROUP (to attach identities)
#   Virtual Machine Contributor on the node resource group (to update the VMs and scale sets)
# as the original project's hack/role-assignment.sh.
#
# Usage: SUBSCRIPTION_ID=... RESOURCE_GROUP=... CLUSTER_NAME=... [NODE_RESOURCE_GROUP=...]
#        [IDENTITY_RESOURCE_GROUP=...] [CLUSTER_IDENTITY_CLIENT_ID=...] role-assignment.sh [--dry-run]
# --dry-run prints the az commands as a script instead of running them (values to look up become variables).
set -euo pipefail

dry_run=false
for arg in "$@"; do
  case $arg in
    --dry-run) dry_run=true ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "role-assignment.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

missing=()
for var in SUBSCRIPTION_ID RESOURCE_GROUP CLUSTER_NAME; do
  [[ -n ${!var:-} ]] || missing+=("$var")
done
if ((${#missing[@]})); then
  echo "role-assignment.sh: set ${missing[*]} (see --help)" >&2
  exit 2
fi

# A word as it can be pasted into a shell: bare when safe, else single-quoted. Words holding "$VAR"
# references (dry-run placeholders) are double-quoted so that the printed script expands them.
quote() {
  local w=$1
  if [[ $w =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$w"
  elif [[ $w == *'$'[A-Z]* ]]; then
    printf '"%s"' "$w"
  else
    printf "'%s'" "${w//\'/\'\\\'\'}"
  fi
}

show() {
  local out='' word
  for word in "$@"; do
    out+="$(quote "$word") "
  done
  echo "${out% }"
}

# Runs a command, or prints it on --dry-run.
run() {
  if $dry_run; then
    show "$@"
  else
    "$@"
  fi
}

aks_show=(az aks show --subscription "$SUBSCRIPTION_ID" --resource-group "$RESOURCE_GROUP" --name "$CLUSTER_NAME")

# Sets variable $1 to `az aks show --query $2`; on --dry-run prints that assignment and sets "$<name>".
lookup() {
  local var=$1 query=$2
  if $dry_run; then
    echo "$var=\$($(show "${aks_show[@]}" --query "$query" --output tsv))"
    printf -v "$var" '%s' "\$$var"
  else
    printf -v "$var" '%s' "$("${aks_show[@]}" --query "$query" --output tsv)"
  fi
}

NODE_RESOURCE_GROUP=${NODE_RESOURCE_GROUP:-}
[[ -n $NODE_RESOURCE_GROUP ]] || lookup NODE_RESOURCE_GROUP nodeResourceGroup

# The cluster identity: the service principal, or the kubelet's managed identity when the cluster uses MSI.
ASSIGNEE=${CLUSTER_IDENTITY_CLIENT_ID:-}
if [[ -z $ASSIGNEE ]]; then
  lookup ASSIGNEE servicePrincipalProfile.clientId
  if $dry_run; then
    echo "if [ \"\$ASSIGNEE\" = msi ]; then"
    echo "  $(lookup ASSIGNEE identityProfile.kubeletidentity.clientId)"
    echo "fi"
  elif [[ ${ASSIGNEE,,} == msi ]]; then
    lookup ASSIGNEE identityProfile.kubeletidentity.clientId
  fi
fi
if [[ -z $ASSIGNEE || -z $NODE_RESOURCE_GROUP ]]; then
  echo "role-assignment.sh: found no cluster identity or node resource group for cluster $CLUSTER_NAME" >&2
  exit 1
fi

scope() { echo "/subscriptions/$SUBSCRIPTION_ID/resourcegroups/$1"; }

run az role assignment create --role "Managed Identity Operator" --assignee "$ASSIGNEE" \
  --scope "$(scope "$NODE_RESOURCE_GROUP")"
run az role assignment create --role "Virtual Machine Contributor" --assignee "$ASSIGNEE" \
  --scope "$(scope "$NODE_RESOURCE_GROUP")"
if [[ -n ${IDENTITY_RESOURCE_GROUP:-} && ${IDENTITY_RESOURCE_GROUP,,} != "${NODE_RESOURCE_GROUP,,}" ]]; then
  run az role assignment create --role "Managed Identity Operator" --assignee "$ASSIGNEE" \
    --scope "$(scope "$IDENTITY_RESOURCE_GROUP")"
fi
