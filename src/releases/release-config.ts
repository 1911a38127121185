import { z } from 'zod';

/**
 * The `releases:` section of the REEF_CONFIG YAML, with FastRegistry's keys (DESIGN §7):
 * where releases come from (`upstream`, `repository`, `pull_secret` as a docker-config auth
 * file), where they go in reef's own registry (`local_repo`, release and components by digest),
 * which architectures count (the first is the default), where extracted artifacts live, and
 * discovery on a schedule (`discover_schedule`, which reef honours and FastRegistry ignores).
 */
export const RELEASE_ARCHITECTURES = ['x86_64', 'aarch64', 'ppc64le', 's390x'] as const;
export type ReleaseArchitecture = (typeof RELEASE_ARCHITECTURES)[number] | 'multi';

const repoPath = z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, 'must be a repository path like openshift-release-dev/ocp-release');

export const releasesSectionSchema = z
  .object({
    enabled: z.boolean().default(false),
    pull_secret: z.string().min(1).optional(),
    upstream: z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be a registry host[:port] like quay.io').default('quay.io'),
    repository: repoPath.default('openshift-release-dev/ocp-release'),
    local_repo: repoPath.default('openshift/release'),
    architectures: z
      .array(z.enum([...RELEASE_ARCHITECTURES, 'multi']))
      .min(1, 'name at least one architecture')
      .default(['x86_64']),
    artifact_path: z.string().min(1).optional(),
    auto_discover: z.boolean().default(false),
    /** reef's addition: a verified clone goes on to extraction (cloned → extracting → ready); false stops at cloned. */
    auto_extract: z.boolean().default(true),
    discover_schedule: z.string().min(1).optional(),
    /** reef's additions for POST …/copy: local directories a copy may write under, and scp's settings (host keys always checked). */
    copy_dirs: z.array(z.string().regex(/^\//, 'must be an absolute path')).default([]),
    ssh_known_hosts: z.string().min(1).optional(),
    ssh_identity: z.string().min(1).optional(),
    /** Components mirrored at once, and blobs at once (the engine's parallelism). */
    parallel_images: z.number().int().min(1).max(32).default(4),
    parallel_layers: z.number().int().min(1).max(32).default(6),
    /** Attempts after the first for each upstream request (429, 5xx, drops). */
    retries: z.number().int().min(0).max(20).default(5),
  })
  .strict();

export type ReleasesSection = z.output<typeof releasesSectionSchema>;

export interface ReleasesConfig extends Omit<ReleasesSection, 'artifact_path' | 'discover_schedule' | 'copy_dirs' | 'ssh_known_hosts' | 'ssh_identity'> {
  /** Where POST …/copy may write locally, and how it logs in over scp (known hosts required). */
  copy: { dirs: string[]; ssh?: { knownHostsFile: string; identityFile?: string } };
  /** Absolute: `<data>/releases` unless given; generated ISOs under the sibling `installs/`. */
  artifactPath: string;
  installsPath: string;
  /** A node-cron expression, when discovery runs on its own (auto_discover). */
  discoverSchedule: string | undefined;
}

/** FastRegistry's default: discovery every six hours when auto_discover is on and no schedule is given. */
export const DEFAULT_DISCOVER_SCHEDULE = '0 */6 * * *';
