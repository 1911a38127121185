import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '../../core/errors.js';

/** The files scripts/build-maintenance-image.sh writes, served at /media/maintenance/<name>. */
export const MAINTENANCE_FILES = ['vmlinuz', 'initrd.img', 'filesystem.squashfs'] as const;

/**
 * The maintenance OS in REEF_BOOT_DIR (default <data>/boot). Looked up at each request and each
 * boot script, so an image built (or rebuilt) into the directory is used without a restart. It
 * holds no secret of any job, so it is served unsigned even when media URLs are signed.
 */
export const createMaintenanceImage = (dir: string) => {
  const has = (name: (typeof MAINTENANCE_FILES)[number]) => existsSync(join(dir, name));
  return {
    dir,
    /** Whether a kernel and an initrd are there to chain to. */
    bootable: () => has('vmlinuz') && has('initrd.img'),
    /** Whether the live root filesystem is there (live-boot's fetch=). */
    hasSquashfs: () => has('filesystem.squashfs'),
    /** The path of a served file; NOT_FOUND for any other name or a missing file. */
    path(name: string): string {
      const known = (MAINTENANCE_FILES as readonly string[]).includes(name) ? (name as (typeof MAINTENANCE_FILES)[number]) : undefined;
      if (!known || !has(known)) throw notFound('maintenance OS file', `${name} (REEF_BOOT_DIR ${dir})`);
      return join(dir, known);
    },
  };
};
export type MaintenanceImage = ReturnType<typeof createMaintenanceImage>;

/** The kernel arguments reef's maintenance image boots with, before REEF_BOOT_CMDLINE's: live root over HTTP, DHCP, console on screen and serial (serial last: systemd and the agent write there). */
export const maintenanceArgs = (bootUrl: string, image: MaintenanceImage): string[] => [
  'boot=live',
  ...(image.hasSquashfs() ? [`fetch=${bootUrl}/media/maintenance/filesystem.squashfs`] : []),
  'ip=dhcp',
  'console=tty0',
  'console=ttyS0,115200',
];
