/**
 * The two images the e2e test needs, built by the project's own scripts or reused from the cache
 * (cache.ts): the maintenance OS (scripts/build-maintenance-image.sh: vmlinuz, initrd.img,
 * filesystem.squashfs) and the Debian rootfs the VM installs (test/e2e/build-rootfs.sh).
 */
import { cachedBuild, type Cached, inputsHash } from './cache.js';

const debian = () => [`MIRROR=${process.env.MIRROR ?? ''}`, `SUITE=${process.env.SUITE ?? ''}`];

export const MAINTENANCE_FILES = ['vmlinuz', 'initrd.img', 'filesystem.squashfs'];

/** Keyed by the build script, the agent's units, dist/ (which must be built first), the lock file and the Node that is copied in. */
export const maintenanceImage = (): Promise<Cached> =>
  cachedBuild({
    name: 'maintenance',
    key: inputsHash(['scripts/build-maintenance-image.sh', 'src/maintenance-os/units', 'dist', 'package.json', 'package-lock.json'], [process.version, ...debian()]),
    files: MAINTENANCE_FILES,
    cmd: 'bash',
    args: ['scripts/build-maintenance-image.sh'],
    timeoutMs: 20 * 60_000,
  });

/** Keyed by its build script (which holds the package list and the GRUB settings). */
export const installedRootfs = (): Promise<Cached> =>
  cachedBuild({
    name: 'rootfs',
    key: inputsHash(['test/e2e/build-rootfs.sh'], debian()),
    files: ['rootfs.tar.gz'],
    cmd: 'bash',
    args: ['test/e2e/build-rootfs.sh'],
    timeoutMs: 20 * 60_000,
  });
