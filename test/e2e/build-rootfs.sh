#!/usr/bin/env bash
# Builds the small bootable Debian the end-to-end test installs: a rootfs tarball (gzip) with a
# kernel, GRUB for UEFI and systemd, as an operator would push it to reef (`reef push
# <host>/os-images/...:1 rootfs.tar.gz`). The agent's bootloader step runs grub-install and
# update-grub in a chroot of it; /etc/default/grub here puts the kernel's console on ttyS0 so
# systemd starts a getty there and the test sees the login prompt on the VM's serial port, and
# cloud-init applies the NoCloud seed the agent wrote (the recipe's hostname and runcmd).
#
#   sudo test/e2e/build-rootfs.sh OUT_DIR        (writes OUT_DIR/rootfs.tar.gz)
#
# Needs: root, mmdebstrap, a Debian mirror (MIRROR, default deb.debian.org).
set -euo pipefail
OUT=${1:?usage: build-rootfs.sh OUT_DIR}/rootfs.tar.gz
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
[[ $(id -u) -eq 0 ]] || { echo "build-rootfs: run as root" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "build-rootfs: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }

# cloud-init: the installed system reads the NoCloud seed the agent writes (hostname, runcmd).
PACKAGES=(linux-image-amd64 grub-efi-amd64 systemd-sysv udev cloud-init)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/grub" <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR="Debian (reef e2e)"
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB

mmdebstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --customize-hook="install -m 0644 '$tmp/grub' \"\$1/etc/default/grub\"" \
  --customize-hook='echo reef-e2e >"$1/etc/hostname"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  "$SUITE" "$tmp/rootfs.tar" "$MIRROR"
mkdir -p "$(dirname "$OUT")"
gzip -1 <"$tmp/rootfs.tar" >"$OUT.part"
mv "$OUT.part" "$OUT"
ls -l "$OUT"
