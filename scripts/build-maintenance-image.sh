#!/usr/bin/env bash
# Builds the reef maintenance OS: a Debian 12 live system (kernel, initrd, squashfs) holding
# Node.js, reef and the tools its agent runs, with the agent's systemd units enabled.
#
#   sudo scripts/build-maintenance-image.sh [OUT_DIR]        (default: ./maintenance-image)
#   sudo scripts/build-maintenance-image.sh data/boot         (straight into reef's REEF_BOOT_DIR)
#
# Needs: root, mmdebstrap, squashfs-tools, a Debian mirror (MIRROR, default deb.debian.org), and
# a built reef (npm ci && npm run build). Node is the host's own binary (`command -v node`, which
# must be Node 20 on a glibc as old as Debian 12's), so the image runs what the tests ran.
#
# Output: OUT_DIR/vmlinuz, OUT_DIR/initrd.img, OUT_DIR/filesystem.squashfs. reef serves them from
# REEF_BOOT_DIR (default <data>/boot) at /media/maintenance/…, and /boot.ipxe chains them with
#   boot=live fetch=<boot URL>/media/maintenance/filesystem.squashfs ip=dhcp console=tty0 console=ttyS0,115200
# (the last console= is the one systemd and the agent write to: the serial console, where BMCs
# and qemu show it; the kernel writes to both). /boot.ipxe adds reef.controller=, reef.job=,
# reef.token= (and reef.ca= under TLS); reef-dispatch.service reads them, fetches the task and
# starts install-linux.target or install-windows.target. When the install is done and reported,
# the finish unit reboots (the recipe's `after`); the power button powers off (systemd-logind);
# the recipe's maintenance_access unlocks root on the console and over SSH for debugging.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-maintenance-image}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}

[[ $(id -u) -eq 0 ]] || { echo "build-maintenance-image: run as root" >&2; exit 1; }
for tool in mmdebstrap mksquashfs node npm; do
  command -v "$tool" >/dev/null || { echo "build-maintenance-image: $tool is missing (apt-get install mmdebstrap squashfs-tools)" >&2; exit 1; }
done
[[ -f dist/cli.js ]] || { echo "build-maintenance-image: run npm ci && npm run build first" >&2; exit 1; }

# The agent's tools (DESIGN §5): disks, filesystems, WIM, archives, BCD, ESP without a vfat
# mount, task ISO reading; plus live-boot and networking for the live system.
PACKAGES=(
  linux-image-amd64 live-boot systemd-sysv udev dbus kmod ca-certificates iproute2 isc-dhcp-client openssh-server
  gdisk util-linux fdisk e2fsprogs xfsprogs dosfstools ntfs-3g wimtools mtools
  tar gzip zstd xz-utils bzip2 cpio xorriso libhivex-bin grub-efi-amd64-bin efibootmgr
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"

echo "== debian $SUITE root with ${#PACKAGES[@]} packages"
mmdebstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" "$SUITE" "$root" "$MIRROR"

echo "== node $(node --version) and reef"
install -m 0755 "$(command -v node)" "$root/usr/local/bin/node"
mkdir -p "$root/opt/reef"
cp -a package.json package-lock.json dist "$root/opt/reef/"
cp -a src/maintenance-os/units "$root/opt/reef/units"
(cd "$root/opt/reef" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
cat >"$root/usr/local/bin/reef" <<'EOF'
#!/bin/sh
exec /usr/local/bin/node /opt/reef/dist/cli.js "$@"
EOF
chmod 0755 "$root/usr/local/bin/reef"

echo "== systemd units"
install -m 0644 src/maintenance-os/units/* "$root/etc/systemd/system/"
mkdir -p "$root/etc/reef"
printf '# Extra arguments for every `reef agent` call, e.g. REEF_AGENT_ARGS=--registry-auth user:pass\nREEF_AGENT_ARGS=\n' >"$root/etc/reef/agent.env"
chroot "$root" systemctl enable reef-dispatch.service
echo "reef-maintenance" >"$root/etc/hostname"

echo "== live image in $OUT"
mkdir -p "$OUT"
cp "$root"/boot/vmlinuz-* "$OUT/vmlinuz"
cp "$root"/boot/initrd.img-* "$OUT/initrd.img"
rm -rf "$root/boot"/*
# Keep the mount points, drop what is under them.
mksquashfs "$root" "$OUT/filesystem.squashfs" -noappend -comp zstd -wildcards -e 'proc/*' 'sys/*' 'dev/*' 'run/*' 'tmp/*'
ls -l "$OUT"
