#!/usr/bin/env bash
# Installs the system tools reef's tests and benchmarks use (Debian/Ubuntu, as root).
# Usage: scripts/install-tools.sh [--bench]
set -euo pipefail
packages=(xorriso genisoimage curl skopeo podman buildah umoci apache2-utils containernetworking-plugins
  gdisk util-linux fdisk e2fsprogs xfsprogs dosfstools ntfs-3g wimtools attr tar gzip zstd xz-utils cpio libhivex-bin mtools)
if [[ "${1:-}" == "--bench" ]]; then packages+=(nginx-light docker-registry); fi
packages+=(systemd) # systemd-escape, systemd-analyze verify: the Ignition unit tests
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-tools: all present (${packages[*]})"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-tools: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
