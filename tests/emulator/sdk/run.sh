#!/usr/bin/env bash
# The SDK conformance suite: official Azure SDKs (Python) against the azure-emulator binary on loopback.
#   tests/emulator/sdk/run.sh <path to azure-emulator> [pytest args...]
# Creates a venv under ${XDG_CACHE_HOME:-$HOME/.cache}/podid/venv with the pinned requirements (once).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="$(realpath "${1:?usage: run.sh <azure-emulator> [pytest args]}")"
shift
venv="${XDG_CACHE_HOME:-$HOME/.cache}/podid/venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi
export EMULATOR_BIN="$binary" PYTHONDONTWRITEBYTECODE=1
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" "$here"
