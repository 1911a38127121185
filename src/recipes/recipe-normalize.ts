import yaml from 'js-yaml';
import { type FieldIssue, validationError } from '../core/errors.js';
import { type OciRef, parseOciRef } from './oci-ref.js';
import { type Filesystem, GPT_TYPES, type GptAlias, sizeBytes } from './partition-types.js';
import type { AFTER_INSTALL, RecipeDoc } from './recipe.schema.js';

export type PartitionRole = 'esp' | 'msr' | 'root' | 'windows' | 'swap' | 'data';

export interface Partition {
  number: number;
  size: string;
  size_bytes: number;
  type_guid: string;
  format: Filesystem | null;
  label: string | null;
  mountpoint: string | null;
  bootable: boolean;
  role: PartitionRole;
}

/** The one internal model both recipe forms normalise to; stored and returned as is. */
export interface Recipe {
  schema_version: 'v1';
  task_target: string;
  target_disk: string;
  oci_url: string | null;
  oci: OciRef | null;
  wim_index: number | null;
  partitions: Partition[];
  hostname: string | null;
  user_data: string | null;
  unattend_xml: string | null;
  env: Record<string, string>;
  notes: string | null;
  /** prestage.target: the data partition and what to fill it with. */
  prestage: Prestage | null;
  /** After a successful install, once the final report is delivered. Absent in recipes stored before it existed: reboot. */
  after?: (typeof AFTER_INSTALL)[number];
  /** Root's console password hash and SSH keys in the maintenance OS while it runs (debugging). */
  maintenance_access?: { root_password_hash: string | null; ssh_authorized_keys: string[] } | null;
  warnings: string[];
}

export interface Prestage {
  label: string;
  size: string;
  size_bytes: number;
  fs: 'xfs' | 'ext4';
  release: string | null;
  ai_images: string[];
  ocp_images: string[];
}

type Draft = Omit<Partition, 'number'>;
const ESP_SIZE = '512M';

const roleOfGuid = (guid: string): PartitionRole => {
  switch (guid) {
    case GPT_TYPES.esp:
      return 'esp';
    case GPT_TYPES.msr:
      return 'msr';
    case GPT_TYPES.swap:
      return 'swap';
    case GPT_TYPES['basic-data']:
      return 'windows';
    default:
      return 'data';
  }
};

const defaultFormat: Record<PartitionRole, Filesystem | null> = {
  esp: 'vfat',
  msr: null,
  root: 'ext4',
  windows: 'ntfs',
  swap: 'swap',
  data: 'ext4',
};

const fromShort = (p: NonNullable<RecipeDoc['partitions']>[number], path: string, issues: FieldIssue[]): Draft | null => {
  const mount = p.mount;
  const base = { size: p.size, size_bytes: sizeBytes(p.size) };
  const bad = (message: string) => {
    issues.push({ path, message });
    return null;
  };
  if (mount === '/boot/efi') {
    if (p.fstype && p.fstype !== 'vfat') return bad('the EFI system partition (/boot/efi) must be vfat');
    return { ...base, type_guid: GPT_TYPES.esp, format: 'vfat', label: p.label ?? 'EFI', mountpoint: mount, bootable: true, role: 'esp' };
  }
  if (mount.toUpperCase() === 'MSR') {
    if (p.fstype) return bad('the Microsoft reserved partition (MSR) takes no fstype');
    return { ...base, type_guid: GPT_TYPES.msr, format: null, label: p.label ?? 'Microsoft reserved partition', mountpoint: null, bootable: false, role: 'msr' };
  }
  if (/^[A-Za-z]:$/.test(mount)) {
    const format = p.fstype ?? 'ntfs';
    if (format !== 'ntfs' && format !== 'vfat') return bad(`a Windows drive (${mount}) must be ntfs or vfat`);
    const letter = mount.toUpperCase();
    const role: PartitionRole = letter === 'C:' ? 'windows' : 'data';
    return { ...base, type_guid: GPT_TYPES['basic-data'], format, label: p.label ?? (role === 'windows' ? 'Windows' : letter[0]!), mountpoint: letter, bootable: false, role };
  }
  if (mount === 'swap' || p.fstype === 'swap') {
    if (mount !== 'swap') return bad('a swap partition has mount "swap"');
    return { ...base, type_guid: GPT_TYPES.swap, format: 'swap', label: p.label ?? 'swap', mountpoint: null, bootable: false, role: 'swap' };
  }
  if (mount.startsWith('/') && !mount.split('/').includes('..')) {
    const format = p.fstype ?? 'ext4';
    if (format === 'ntfs' || format === 'vfat') {
      if (mount === '/') return bad('the root filesystem must be ext4 or xfs');
    }
    const role: PartitionRole = mount === '/' ? 'root' : 'data';
    const label = p.label ?? (mount === '/' ? 'root' : mount.split('/').filter(Boolean).join('-'));
    return { ...base, type_guid: GPT_TYPES.linux, format, label, mountpoint: mount, bootable: false, role };
  }
  return bad('mount must be /boot/efi, an absolute path such as /, swap, MSR, or a drive letter such as C:');
};

const fromLong = (p: NonNullable<RecipeDoc['partition_layout']>[number]): Draft => {
  const guid = (p.type_guid in GPT_TYPES ? GPT_TYPES[p.type_guid as GptAlias] : p.type_guid).toUpperCase();
  let role = roleOfGuid(guid);
  if (p.mountpoint === '/') role = 'root';
  const format = p.format === 'none' ? null : (p.format ?? defaultFormat[role]);
  return {
    size: p.size,
    size_bytes: sizeBytes(p.size),
    type_guid: guid,
    format,
    label: p.label ?? null,
    mountpoint: p.mountpoint ?? null,
    bootable: p.bootable ?? role === 'esp',
    role,
  };
};

const checkLayout = (drafts: Draft[], field: string, target: string, issues: FieldIssue[]): void => {
  drafts.forEach((d, i) => {
    if (d.size_bytes === 0 && i !== drafts.length - 1) {
      issues.push({ path: `${field}[${i}].size`, message: 'only the last partition may take the rest of the disk (size 0)' });
    }
    if (d.size_bytes !== 0 && d.size_bytes < 1024 * 1024) {
      issues.push({ path: `${field}[${i}].size`, message: 'a partition must be at least 1M' });
    }
    if (d.mountpoint && drafts.findIndex((o) => o.mountpoint === d.mountpoint) !== i) {
      issues.push({ path: `${field}[${i}]`, message: `mount point ${d.mountpoint} appears twice` });
    }
  });
  if (target === 'install-linux.target' && !drafts.some((d) => d.role === 'root')) {
    issues.push({ path: field, message: 'install-linux.target needs a partition mounted at /' });
  }
  if (target === 'install-windows.target' && !drafts.some((d) => d.role === 'windows' && d.format === 'ntfs')) {
    issues.push({ path: field, message: 'install-windows.target needs an ntfs partition for C:' });
  }
  if (drafts.filter((d) => d.role === 'esp').length > 1) {
    issues.push({ path: field, message: 'only one EFI system partition is allowed' });
  }
};

const renderCloudConfig = (ci: NonNullable<RecipeDoc['cloud_init']>): string => {
  const doc: Record<string, unknown> = {};
  if (ci.hostname) {
    const [short] = ci.hostname.split('.');
    doc.hostname = short;
    if (ci.hostname.includes('.')) doc.fqdn = ci.hostname;
  }
  if (ci.timezone) doc.timezone = ci.timezone;
  if (ci.users) doc.users = ci.users;
  if (ci.packages) doc.packages = ci.packages;
  if (ci.runcmd) doc.runcmd = ci.runcmd;
  return `#cloud-config\n${yaml.dump(doc, { lineWidth: -1, noRefs: true })}`;
};

/** Normalises a schema-valid recipe; throws a validation error naming the field for layout mistakes. */
export const normalizeRecipe = (doc: RecipeDoc): Recipe => {
  const issues: FieldIssue[] = [];
  const warnings: string[] = [];
  const field = doc.partitions ? 'partitions' : 'partition_layout';
  let drafts: Draft[] = [];
  if (doc.partitions) {
    drafts = doc.partitions.map((p, i) => fromShort(p, `partitions[${i}]`, issues)).filter((d): d is Draft => d !== null);
  } else if (doc.partition_layout) {
    drafts = doc.partition_layout.map(fromLong);
  }
  if (issues.length === 0 && drafts.length > 0) checkLayout(drafts, field, doc.task_target, issues);
  if (issues.length > 0) throw validationError(issues, 'recipe');

  const installs = doc.task_target === 'install-linux.target' || doc.task_target === 'install-windows.target';
  if (installs && !drafts.some((d) => d.role === 'esp')) {
    // UEFI firmware boots only from an EFI system partition; never lay down an unbootable disk.
    drafts.unshift({ size: ESP_SIZE, size_bytes: sizeBytes(ESP_SIZE), type_guid: GPT_TYPES.esp, format: 'vfat', label: 'EFI', mountpoint: doc.task_target === 'install-linux.target' ? '/boot/efi' : null, bootable: true, role: 'esp' });
    warnings.push(`no EFI system partition given: reef adds a ${ESP_SIZE} ESP as partition 1 so the disk boots under UEFI`);
  }

  const oci = doc.oci_url ? (parseOciRef(doc.oci_url) as OciRef) : null;
  let userData: string | null = null;
  let hostname: string | null = null;
  if (doc.cloud_init) {
    userData = renderCloudConfig(doc.cloud_init);
    hostname = doc.cloud_init.hostname ?? null;
  } else if (doc.user_data) {
    userData = doc.user_data;
  }
  return {
    schema_version: 'v1',
    task_target: doc.task_target,
    target_disk: doc.target_disk,
    oci_url: doc.oci_url ?? null,
    oci,
    wim_index: doc.wim_index ?? (doc.task_target === 'install-windows.target' ? 1 : null),
    partitions: drafts.map((d, i) => ({ number: i + 1, ...d })),
    hostname,
    user_data: userData,
    unattend_xml: doc.unattend_xml ?? null,
    env: doc.env ?? {},
    notes: doc.notes ?? null,
    prestage: doc.prestage
      ? {
          label: doc.prestage.label,
          size: doc.prestage.size,
          size_bytes: sizeBytes(doc.prestage.size),
          fs: doc.prestage.fs,
          release: doc.prestage.release ?? null,
          ai_images: doc.prestage.ai_images ?? [],
          ocp_images: doc.prestage.ocp_images ?? [],
        }
      : null,
    after: doc.after ?? 'reboot',
    maintenance_access: doc.maintenance_access
      ? { root_password_hash: doc.maintenance_access.root_password_hash ?? null, ssh_authorized_keys: doc.maintenance_access.ssh_authorized_keys ?? [] }
      : null,
    warnings,
  };
};
