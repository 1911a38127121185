#!/bin/bash
# reef pre-cache loader: loads the container images pre-staged on the node's data partition into
# containers-storage, so discovery and installation do not pull them over the WAN. Shipped by
# reef inside the discovery and pointer Ignition overrides (precache-images.service,
# precache-ocp-images.service).
#
# Usage: load-images.sh --list ai-images|ocp-images|FILE [--partlabel data] [--dir /var/mnt]
#                       [--no-mount] [--wait SECONDS] [--jobs N] [--attempts N] [--backoff SECONDS]
#
#   --list       image list: NAME reads DIR/NAME.txt, a path ending in .txt is read as given
#                (relative to DIR unless absolute); one image reference per line, # comments
#   --partlabel  GPT partition name of the data partition (default data)
#   --dir        where the partition is (or gets) mounted (default /var/mnt)
#   --no-mount   use DIR as it is (a directory holding the files), never mount
#   --wait       how long to wait for the partition's device to appear (default 30)
#   --jobs       images loaded in parallel (default: number of CPUs)
#   --attempts   tries per image before it counts as failed (default 3)
#   --backoff    seconds to wait after the first failed try, doubled after each (default 5)
#
# Layout (written by `reef prestage download`): per image a gzipped tar named after the last
# path segment of its reference with the first ':' replaced by '_', plus ".tgz"
# (quay.io/a/b@sha256:abc -> b@sha256_abc.tgz), holding one directory of that name in the
# containers-image "dir:" format (version, manifest.json, blobs named by hex digest).
#
# Progress goes to stdout, problems to stderr (both end up in the journal). Exit status: 0 when
# every listed image is in containers-storage, 1 when any image failed (all of them are named),
# 2 on bad usage or when the partition or the list cannot be found.
set -uo pipefail

TAG=reef-precache
LIST=""
LABEL=data
DIR=/var/mnt
MOUNT=1
JOBS="$(nproc 2>/dev/null || echo 2)"
ATTEMPTS=3
BACKOFF=5
WAIT=30

log() { printf '%s: %s\n' "$TAG" "$*"; }
err() { printf '%s: %s\n' "$TAG" "$*" >&2; }
die() { err "$*"; exit 2; }
value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --list) value "$@"; LIST="$2"; shift 2 ;;
    --partlabel) value "$@"; LABEL="$2"; shift 2 ;;
    --dir) value "$@"; DIR="$2"; shift 2 ;;
    --no-mount) MOUNT=0; shift ;;
    --jobs) value "$@"; JOBS="$2"; shift 2 ;;
    --attempts) value "$@"; ATTEMPTS="$2"; shift 2 ;;
    --backoff) value "$@"; BACKOFF="$2"; shift 2 ;;
    --wait) value "$@"; WAIT="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

[ -n "$LIST" ] || die "--list is required (ai-images, ocp-images or a .txt file)"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got $JOBS"
[[ "$ATTEMPTS" =~ ^[1-9][0-9]*$ ]] || die "--attempts must be a positive integer, got $ATTEMPTS"
[[ "$BACKOFF" =~ ^[0-9]+$ ]] || die "--backoff must be a whole number of seconds, got $BACKOFF"
[[ "$WAIT" =~ ^[0-9]+$ ]] || die "--wait must be a whole number of seconds, got $WAIT"
for tool in podman skopeo tar; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

MOUNTED=0
WORK=""
cleanup() {
  [ -n "$WORK" ] && rm -rf "$WORK"
  if [ "$MOUNTED" = 1 ]; then umount "$DIR" && log "unmounted $DIR"; fi
}
trap cleanup EXIT
trap 'err "interrupted"; kill $(jobs -p) 2>/dev/null; exit 143' INT TERM

if [ "$MOUNT" = 1 ] && ! mountpoint -q "$DIR"; then
  dev="/dev/disk/by-partlabel/$LABEL"
  deadline=$((SECONDS + WAIT))
  while [ ! -e "$dev" ] && [ "$SECONDS" -lt "$deadline" ]; do
    udevadm settle --timeout=2 >/dev/null 2>&1 || true
    [ -e "$dev" ] || sleep 1
  done
  [ -e "$dev" ] || die "no partition labelled $LABEL ($dev does not exist after ${WAIT}s)"
  mkdir -p "$DIR" || die "cannot create $DIR"
  mount "$dev" "$DIR" || die "cannot mount $dev on $DIR"
  MOUNTED=1
  log "mounted $dev on $DIR"
fi
[ -d "$DIR" ] || die "$DIR is not a directory"

case "$LIST" in
  /*) LIST_FILE="$LIST" ;;
  *.txt) LIST_FILE="$DIR/$LIST" ;;
  *) LIST_FILE="$DIR/$LIST.txt" ;;
esac
[ -r "$LIST_FILE" ] || die "image list $LIST_FILE not found"

# First field of each non-empty, non-comment line; duplicates dropped, order kept.
mapfile -t IMAGES < <(awk 'NF && $1 !~ /^#/ && !seen[$1]++ { print $1 }' "$LIST_FILE")
TOTAL=${#IMAGES[@]}
if [ "$TOTAL" -eq 0 ]; then
  log "$LIST_FILE lists no images; nothing to load"
  exit 0
fi

WORK="$(mktemp -d "$DIR/.reef-precache.XXXXXX" 2>/dev/null || mktemp -d "${TMPDIR:-/var/tmp}/reef-precache.XXXXXX")" || die "cannot create a work directory"
mkdir -p "$WORK/status"
log "loading $TOTAL image(s) listed in $LIST_FILE, $JOBS at a time"

# Unpacks one image and copies it into containers-storage: ref, directory name, tgz, scratch dir.
try_load() {
  tar -xzf "$3" -C "$4" || return 1
  [ -f "$4/$2/manifest.json" ] || { echo "$(basename "$3") does not hold $2/manifest.json"; return 1; }
  skopeo copy --quiet "dir:$4/$2" "containers-storage:$1"
}

# Loads image number $1 (reference $2); writes ok, skip or fail to the status directory.
load_one() {
  local n="$1" ref="$2" seg name tgz attempt scratch started=$SECONDS
  seg="${ref##*/}"
  name="${seg/:/_}"
  tgz="$DIR/$name.tgz"
  if podman image exists "$ref" 2>/dev/null; then
    log "[$n/$TOTAL] $ref: already in containers-storage, skipped"
    echo skip >"$WORK/status/$n"
    return 0
  fi
  if [ ! -f "$tgz" ]; then
    err "[$n/$TOTAL] $ref: $tgz is missing"
    echo fail >"$WORK/status/$n"
    return 1
  fi
  for attempt in $(seq 1 "$ATTEMPTS"); do
    scratch="$(mktemp -d "$WORK/unpack.XXXXXX")"
    if try_load "$ref" "$name" "$tgz" "$scratch" >"$scratch.log" 2>&1; then
      rm -rf "$scratch" "$scratch.log"
      log "[$n/$TOTAL] $ref: loaded in $((SECONDS - started))s"
      echo ok >"$WORK/status/$n"
      return 0
    fi
    err "[$n/$TOTAL] $ref: attempt $attempt/$ATTEMPTS failed: $(tail -n 3 "$scratch.log" | tr '\n' ' ')"
    rm -rf "$scratch" "$scratch.log"
    if [ "$attempt" -lt "$ATTEMPTS" ]; then sleep $((BACKOFF * (1 << (attempt - 1)))); fi
  done
  echo fail >"$WORK/status/$n"
  return 1
}

STARTED=$SECONDS
for i in "${!IMAGES[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  load_one "$((i + 1))" "${IMAGES[$i]}" &
done
wait

loaded=0
skipped=0
failed=()
for i in "${!IMAGES[@]}"; do
  case "$(cat "$WORK/status/$((i + 1))" 2>/dev/null)" in
    ok) loaded=$((loaded + 1)) ;;
    skip) skipped=$((skipped + 1)) ;;
    *) failed+=("${IMAGES[$i]}") ;;
  esac
done
log "done in $((SECONDS - STARTED))s: $loaded loaded, $skipped already present, ${#failed[@]} failed, of $TOTAL"
if [ "${#failed[@]}" -gt 0 ]; then
  err "FAILED to load ${#failed[@]} image(s):"
  for ref in "${failed[@]}"; do err "  $ref"; done
  exit 1
fi
exit 0
