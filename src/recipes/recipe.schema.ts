import { z } from 'zod';
import { parseOciRef } from './oci-ref.js';
import { FILESYSTEMS, GPT_TYPES, GUID, SIZE } from './partition-types.js';

/**
 * The recipe as users write it (Shoal's field names), JSON or YAML. Both partition forms and
 * both cloud-init forms are accepted here; recipe-normalize.ts turns them into one model.
 */
const sizeField = z
  .union([z.string(), z.literal(0)])
  .transform((v) => String(v))
  .refine((v) => SIZE.test(v), { message: 'size must look like 512M, 100G, 1.5T or 0 (rest of disk)' });

export const shortPartitionSchema = z.strictObject({
  mount: z.string().min(1, 'mount must not be empty').max(255),
  size: sizeField,
  fstype: z.enum(FILESYSTEMS).optional(),
  label: z.string().min(1).max(36).optional(),
});

const typeGuid = z
  .string()
  .refine((v) => GUID.test(v) || v in GPT_TYPES, {
    message: `type_guid must be a GUID or one of ${Object.keys(GPT_TYPES).join(', ')}`,
  });

export const longPartitionSchema = z.strictObject({
  size: sizeField,
  type_guid: typeGuid,
  format: z.enum([...FILESYSTEMS, 'none']).optional(),
  label: z.string().min(1).max(36).optional(),
  mountpoint: z
    .string()
    .regex(/^(?:\/[^\0]*|[A-Za-z]:)$/, 'mountpoint must be an absolute path such as /var, or a drive letter such as C:')
    .refine((v) => !v.split('/').includes('..'), 'mountpoint must not contain ..')
    .max(255)
    .optional(),
  bootable: z.boolean().optional(),
});

const sshKey = z.string().regex(/^(ssh-|ecdsa-|sk-)[A-Za-z0-9@._-]+ \S+/, 'not an SSH public key line');

export const cloudInitSchema = z.strictObject({
  hostname: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/, 'not a valid hostname'),
  users: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'not a valid user name'),
        ssh_authorized_keys: z.array(sshKey).optional(),
        sudo: z.string().optional(),
        groups: z.union([z.string(), z.array(z.string())]).optional(),
        shell: z.string().optional(),
        lock_passwd: z.boolean().optional(),
        passwd: z.string().optional(),
      }),
    )
    .optional(),
  timezone: z.string().optional(),
  packages: z.array(z.string()).optional(),
  runcmd: z.array(z.union([z.string(), z.array(z.string())])).optional(),
}).partial({ hostname: true });

const ociUrl = z.string().transform((text, ctx) => {
  const parsed = parseOciRef(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return text;
});

const imageRef = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?\/[a-z0-9]+(?:[._/-]+[a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    'not an image reference such as quay.io/org/image:tag or quay.io/org/image@sha256:<64 hex>',
  );

/** Factory pre-staging (task_target prestage.target): a data partition at the end of the disk, filled from reef's registry. */
export const prestageSchema = z
  .strictObject({
    label: z.string().regex(/^[A-Za-z0-9_-]{1,12}$/, 'label must be 1-12 letters, digits, "_" or "-" (it is the partlabel and the XFS label)').default('data'),
    size: sizeField.refine((v) => v !== '0', 'size must be a size such as 100G or 250G (the partition sits at the end of the disk)'),
    fs: z.enum(['xfs', 'ext4']).default('xfs'),
    release: z.string().regex(/^\d+\.\d+\.\d+(?:-[A-Za-z0-9_.]+)?$/, 'release must be a version such as 4.14.1 or 4.14.1-x86_64').optional(),
    ai_images: z.array(imageRef).max(5000).optional(),
    ocp_images: z.array(imageRef).max(5000).optional(),
  })
  .refine((p) => p.release || p.ai_images?.length || p.ocp_images?.length, { message: 'prestage needs release, ai_images or ocp_images', path: ['release'] });

/** What the machine does once the install is done and its final report delivered (default reboot: into the installed system). */
export const AFTER_INSTALL = ['reboot', 'poweroff', 'none'] as const;

/** A way into the maintenance OS while it runs, for debugging on the floor: a console password and/or SSH keys for root. */
export const maintenanceAccessSchema = z
  .strictObject({
    root_password_hash: z
      .string()
      .regex(/^\$(?:1|5|6|y|gy|2[aby]|7)\$[./A-Za-z0-9$=,]+$/, 'must be a crypt(3) hash such as `mkpasswd -m sha-512` or `openssl passwd -6` prints, never a plain password')
      .optional(),
    ssh_authorized_keys: z.array(sshKey).max(64).optional(),
  })
  .refine((a) => a.root_password_hash || a.ssh_authorized_keys?.length, { message: 'give root_password_hash or ssh_authorized_keys' });

export const recipeSchema = z
  .strictObject({
    task_target: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\.target$/, 'task_target must be a systemd target name such as install-linux.target'),
    target_disk: z
      .string()
      .regex(/^\/dev\/[A-Za-z0-9._:/+-]+$/, 'target_disk must be a device path such as /dev/sda')
      .refine((v) => !v.split('/').includes('..'), 'target_disk must not contain ..'),
    oci_url: ociUrl.optional(),
    wim_index: z.number().int('wim_index must be an integer').min(1, 'wim_index starts at 1').optional(),
    partitions: z.array(shortPartitionSchema).min(1, 'partitions must list at least one partition').optional(),
    partition_layout: z.array(longPartitionSchema).min(1, 'partition_layout must list at least one partition').optional(),
    cloud_init: cloudInitSchema.optional(),
    user_data: z.string().min(1, 'user_data must not be empty').max(256 * 1024).optional(),
    unattend_xml: z.string().min(1, 'unattend_xml must not be empty').max(1024 * 1024).optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names are shell variable names'), z.string()).optional(),
    notes: z.string().max(64 * 1024).optional(),
    prestage: prestageSchema.optional(),
    after: z.enum(AFTER_INSTALL).optional(),
    maintenance_access: maintenanceAccessSchema.optional(),
    schema_version: z.union([z.literal(1), z.literal('1'), z.literal('v1')]).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.partitions && r.partition_layout) {
      ctx.addIssue({ code: 'custom', path: ['partition_layout'], message: 'give partitions or partition_layout, not both' });
    }
    if (!r.partitions && !r.partition_layout && r.task_target.startsWith('install-')) {
      ctx.addIssue({ code: 'custom', path: ['partitions'], message: `${r.task_target} needs partitions (or partition_layout)` });
    }
    if (r.cloud_init && r.user_data) {
      ctx.addIssue({ code: 'custom', path: ['user_data'], message: 'give cloud_init or user_data, not both' });
    }
    if (r.task_target.startsWith('install-') && !r.oci_url) {
      ctx.addIssue({ code: 'custom', path: ['oci_url'], message: `${r.task_target} needs oci_url, the image to install` });
    }
    if (r.task_target === 'prestage.target' && !r.prestage) {
      ctx.addIssue({ code: 'custom', path: ['prestage'], message: 'prestage.target needs a prestage section (size, and release or image lists)' });
    }
    if (r.prestage && r.task_target !== 'prestage.target') {
      ctx.addIssue({ code: 'custom', path: ['prestage'], message: 'prestage applies to task_target prestage.target only' });
    }
    if (r.wim_index !== undefined && r.task_target !== 'install-windows.target') {
      ctx.addIssue({ code: 'custom', path: ['wim_index'], message: 'wim_index applies to install-windows.target only' });
    }
  });

export type RecipeInput = z.input<typeof recipeSchema>;
export type RecipeDoc = z.output<typeof recipeSchema>;

export const RECIPE_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
export const recipeNameSchema = z
  .string()
  .regex(RECIPE_NAME, 'name must be 1-64 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit');
