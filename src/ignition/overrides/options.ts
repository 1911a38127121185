/**
 * The options of the discovery and pointer overrides, validated once for every surface (CLI
 * flags, HTTP query parameters). Errors are DomainErrors naming the field by the surface's own
 * name (`--images-dir`, `images_dir`).
 */
import { z } from 'zod';
import { DomainError, type FieldIssue, validationError } from '../../core/errors.js';
import { zodIssues } from '../../core/zod-issues.js';
import { simplifyPath } from '../systemd-names.js';
import { ASSISTED_VERSIONS } from '../types.js';

const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

const sshKey = z
  .string()
  .transform((s) => s.trim())
  .refine((s) => {
    const [type, blob, ...rest] = s.split(/[ \t]+/);
    return SSH_KEY_TYPES.includes(type ?? '') && /^[A-Za-z0-9+/]+={0,3}$/.test(blob ?? '') && !/[\r\n]/.test(rest.join(' '));
  }, 'not an SSH public key (one line: "<type> <base64> [comment]", type ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...)');

const imagesDir = z
  .string()
  .refine((p) => simplifyPath(p) === p && p !== '/', 'must be an absolute, normalized path other than / (e.g. /var/mnt)')
  .refine((p) => /^[A-Za-z0-9._/-]+$/.test(p), 'may hold only A-Z a-z 0-9 . _ - and /')
  .refine((p) => p.length <= 1024, 'is longer than 1024 characters');

export const overrideOptionsSchema = z.strictObject({
  label: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,36}$/, 'must be a GPT partition name of 1–36 characters from A-Z a-z 0-9 . _ -')
    .default('data'),
  version: z.enum(ASSISTED_VERSIONS, { error: `must be ${ASSISTED_VERSIONS.join(' or ')} (the versions Assisted Service accepts in an override)` }).default('3.1.0'),
  imagesDir: imagesDir.default('/var/mnt'),
  sshKeys: z.array(sshKey).default([]),
});

export type OverrideOptionsInput = z.input<typeof overrideOptionsSchema>;
export type OverrideOptions = z.output<typeof overrideOptionsSchema>;

/** What each surface calls the fields: `imagesDir` is `--images-dir` on the CLI, `images_dir` over HTTP. */
export type FieldNames = Record<keyof OverrideOptions, string>;

export const CLI_NAMES: FieldNames = { label: '--label', version: '--version', imagesDir: '--images-dir', sshKeys: '--ssh-key' };
export const QUERY_NAMES: FieldNames = { label: 'label', version: 'version', imagesDir: 'images_dir', sshKeys: 'ssh_key' };

/** Renames the fields of issues (`sshKeys[2]` → `--ssh-key[2]`); other paths stay. */
export const renameIssues = (issues: FieldIssue[], names: FieldNames): FieldIssue[] =>
  issues.map((i) => {
    const m = /^(label|version|imagesDir|sshKeys)(.*)$/.exec(i.path);
    return m ? { ...i, path: `${names[m[1] as keyof FieldNames]}${m[2]}` } : i;
  });

/** Runs `fn`, giving the fields of a validation DomainError it throws the surface's names. */
export const withFieldNames = <T>(names: FieldNames, fn: () => T): T => {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') throw validationError(renameIssues(err.details, names), 'ignition options');
    throw err;
  }
};

/** Validates override options (defaults filled in) or throws a DomainError naming each bad field. */
export const parseOverrideOptions = (input: unknown): OverrideOptions => {
  const r = overrideOptionsSchema.safeParse(input);
  if (!r.success) throw validationError(zodIssues(r.error), 'ignition options');
  return r.data;
};
