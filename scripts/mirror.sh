#!/usr/bin/env bash
# Mirrors an OpenShift release into reef, as FastRegistry's mirror.sh does:
#   ./mirror.sh 4.21.0           # x86_64 (default)
#   ./mirror.sh 4.21.0 --arm     # aarch64
# It starts the clone (POST /admin/releases/clone), then follows GET /admin/releases/<tag>/status
# until the release reaches a final state, and exits on every one of them:
#   ready, or cloned with no extraction following  → 0
#   failed                                          → 1
#   available (reset while it ran), API errors      → 2
# REEF_URL is reef's address (default http://127.0.0.1:8080); REEF_TOKEN, when set, is sent as a
# Bearer token (REEF_API_AUTH=token); MIRROR_POLL is the seconds between two looks (default 5).
set -euo pipefail

usage() {
  echo "usage: $0 <version> [--arm]   (e.g. $0 4.21.0, $0 4.21.0 --arm)" >&2
  exit 2
}

version=""
arch="x86_64"
for arg in "$@"; do
  case "$arg" in
    --arm) arch="aarch64" ;;
    -h | --help) usage ;;
    -*) echo "unknown option: $arg" >&2; usage ;;
    *) [[ -z "$version" ]] || usage; version="$arg" ;;
  esac
done
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-(rc|ec|fc)\.[0-9]+)?$ ]] || usage
command -v curl >/dev/null || { echo "mirror.sh needs curl" >&2; exit 2; }
command -v jq >/dev/null || { echo "mirror.sh needs jq" >&2; exit 2; }

url="${REEF_URL:-http://127.0.0.1:8080}"
url="${url%/}"
poll="${MIRROR_POLL:-5}"
tag="${version}-${arch}"
auth=()
[[ -z "${REEF_TOKEN:-}" ]] || auth=(-H "Authorization: Bearer ${REEF_TOKEN}")

# Prints the body; fails (exit 2) with reef's message when the answer is not 2xx.
call() {
  local method="$1" path="$2" body="${3:-}" out status
  out=$(mktemp)
  status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "${auth[@]}" -H 'Content-Type: application/json' ${body:+-d "$body"} "${url}${path}") || { rm -f "$out"; echo "cannot reach reef at ${url}" >&2; exit 2; }
  if [[ "$status" != 2* ]]; then
    echo "reef answered HTTP ${status} to ${method} ${path}: $(jq -r '.error.message? // .error? // .' "$out" 2>/dev/null || cat "$out")" >&2
    rm -f "$out"
    exit 2
  fi
  cat "$out"
  rm -f "$out"
}

echo "cloning ${tag} into reef at ${url}"
call POST /admin/releases/clone "{\"version\": \"${tag}\"}" | jq -r '"\(.message): \(.version)"'

last=""
while :; do
  s=$(call GET "/admin/releases/${tag}/status")
  state=$(jq -r '.release.state' <<<"$s")
  line=$(jq -r '"\(.release.state)" + (if .progress and (.release.state == "cloning") then " \(.progress.phase) \(.progress.percent_done)% blobs \(.progress.synced_blobs)/\(.progress.total_blobs) components \(.progress.mirrored_components)/\(.progress.total_components) \(.progress.current_component)" else "" end)' <<<"$s")
  [[ "$line" == "$last" ]] || echo "$line"
  last="$line"
  case "$state" in
    ready)
      jq -r '.release.artifacts[]? | "  \(.name) \(.size) bytes sha256 \(.sha256)"' <<<"$s"
      echo "${tag} is ready: ${url}/files/releases/${version}/<artifact>"
      exit 0 ;;
    cloned)
      echo "${tag} is cloned and verified into reef's registry (no extraction followed)"
      exit 0 ;;
    failed)
      echo "${tag} failed: $(jq -r '.release.error' <<<"$s")" >&2
      exit 1 ;;
    available)
      echo "${tag} went back to available (reset while it ran)" >&2
      exit 2 ;;
  esac
  sleep "$poll"
done
