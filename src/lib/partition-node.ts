/**
 * The device node of partition `n` of a disk: `<disk>p<n>` when the disk's name ends in a digit
 * (nvme0n1p1, loop0p1, mmcblk0p1), else `<disk><n>` (sdb1, vda3) — the kernel's naming.
 */
export const partitionNode = (disk: string, n: number): string => (/\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`);
