/** GPT partition type GUIDs a recipe may name by alias. */
export const GPT_TYPES = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  msr: 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE',
  'basic-data': 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  'linux-root-x86-64': '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  'bios-boot': '21686148-6449-6E6F-744E-656564454649',
  'windows-recovery': 'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC',
} as const;

export type GptAlias = keyof typeof GPT_TYPES;
export const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

export const FILESYSTEMS = ['vfat', 'ext4', 'xfs', 'ntfs', 'swap'] as const;
export type Filesystem = (typeof FILESYSTEMS)[number];

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };
export const SIZE = /^(?:0|[1-9][0-9]*(?:\.[0-9]+)?[KMGTP](?:i?B)?)$/;

/** Bytes for a size such as `512M`, `100G`, `1.5T` (binary units, as sgdisk reads them); 0 = rest of the disk. */
export const sizeBytes = (size: string): number => {
  if (size === '0') return 0;
  const m = /^([0-9.]+)([KMGTP])/.exec(size)!;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
};
