#!/usr/bin/env bash
# Installs the system tools reef's tests and benchmarks use (Debian/Ubuntu, as root).
# Usage: scripts/install-tools.sh [--bench] [--e2e] [--if-possible]
#   --e2e          also what the VM end-to-end test (npm run test:e2e, test/e2e) needs: qemu, OVMF,
#                  iPXE's NIC ROMs, dnsmasq, and mmdebstrap + squashfs-tools for its images. A group
#                  of its own (.ci/run passes it) because it is large and `npm test` does not run it.
#   --if-possible  (what `npm test` runs first): install when root with apt-get; otherwise, or
#                  with REEF_INSTALL_TOOLS=0, only say loudly what is missing and exit 0, so the
#                  tests that need a missing tool skip with a warning (and fail under CI=true).
set -euo pipefail
if_possible=false
for arg in "$@"; do [[ "$arg" == "--if-possible" ]] && if_possible=true; done
packages=(xorriso genisoimage curl skopeo podman buildah umoci apache2-utils containernetworking-plugins
  gdisk util-linux fdisk e2fsprogs xfsprogs dosfstools ntfs-3g wimtools attr tar gzip zstd xz-utils cpio libhivex-bin mtools
  openssl iproute2 openssh-client openssh-server docker-registry jq)  # openssl: the TLS tests make their certificates with it; iproute2: network namespaces; openssh: release copies over scp to a test sshd; docker-registry: the registry tests' reference and upstream; jq: the seed documents' curl examples (releases)
for arg in "$@"; do [[ "$arg" == "--bench" ]] && packages+=(nginx-light); done
for arg in "$@"; do [[ "$arg" == "--e2e" ]] && packages+=(qemu-system-x86 ovmf ipxe-qemu dnsmasq-base mmdebstrap squashfs-tools debian-archive-keyring); done
packages+=(systemd) # systemd-escape, systemd-analyze verify: the Ignition unit tests
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-tools: all present (${packages[*]})"
  exit 0
fi
why=""
if [[ "${REEF_INSTALL_TOOLS:-1}" == "0" ]]; then why="REEF_INSTALL_TOOLS=0"
elif [[ $(id -u) -ne 0 ]]; then why="not root"
elif ! command -v apt-get >/dev/null; then why="no apt-get"
fi
if [[ -n "$why" ]]; then
  if $if_possible; then
    bar=$(printf '!%.0s' {1..72})
    printf '%s\n!!! install-tools: NOT installing (%s): %s\n!!! Tests that need these are skipped with a warning (they fail under CI=true).\n!!! As root on Debian: scripts/install-tools.sh\n%s\n' "$bar" "$why" "${missing[*]}" "$bar" >&2
    exit 0
  fi
  echo "install-tools: cannot install (${why}): ${missing[*]}" >&2
  exit 1
fi
echo "install-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
