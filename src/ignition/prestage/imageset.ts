import yaml from 'js-yaml';
import { z } from 'zod';
import type { OciClient } from '../../registry/client/oci-client.js';
import { fromZod, PrestageInputError } from './errors.js';
import { parseSourceRef, type SourceRef } from './image-ref.js';
import { RELEASE_REPOS } from './release.js';

const FLAG = '--imageset';
const unsupported = (what: string) => `is not supported by reef prestage download (${what}); remove it or mirror it with oc-mirror`;
const named = z.strictObject({ name: z.string().min(1) });

const channel = z.strictObject({
  name: z.string().regex(/^(stable|fast|candidate|eus)-\d+\.\d+$/, 'expected a channel like stable-4.19 (stable|fast|candidate|eus-<major>.<minor>)'),
  type: z.literal('ocp', { error: `only ocp channels are supported (okd ${unsupported('OKD payloads')})` }).optional(),
  minVersion: z.string().regex(/^\d+\.\d+\.\d+$/, 'expected x.y.z').optional(),
  maxVersion: z.string().regex(/^\d+\.\d+\.\d+$/, 'expected x.y.z').optional(),
  shortestPath: z.boolean().optional(),
  full: z.boolean().optional(),
});

const imageSetSchema = z.strictObject({
  kind: z.literal('ImageSetConfiguration'),
  apiVersion: z.enum(['mirror.openshift.io/v2alpha1', 'mirror.openshift.io/v1alpha2']),
  archiveSize: z.number().int().positive().optional(),
  storageConfig: z.unknown().optional(),
  mirror: z.strictObject({
    platform: z
      .strictObject({
        architectures: z.array(z.enum(['amd64', 'arm64', 'ppc64le', 's390x', 'multi'])).min(1).optional(),
        channels: z.array(channel).optional(),
        graph: z.boolean().optional(),
        release: z.string().min(1).optional(),
        kubeVirtContainer: z.literal(false, { error: unsupported('KubeVirt container images') }).optional(),
      })
      .optional(),
    additionalImages: z.array(named).optional(),
    blockedImages: z.array(named).optional(),
    operators: z.array(z.unknown()).max(0, { error: unsupported('operator catalogs') }).optional(),
    helm: z.unknown().refine((v) => v === undefined || v === null || (typeof v === 'object' && Object.keys(v).length === 0), { error: unsupported('Helm charts') }).optional(),
  }),
});

export interface Channel {
  /** `stable-4.19` */
  name: string;
  /** `4.19` */
  minor: string;
  minVersion?: string;
  maxVersion?: string;
  full: boolean;
  /** Where it came from, for errors: `mirror.platform.channels[0]`. */
  field: string;
}

export interface ImageSet {
  /** additionalImages: these go to ai-images.txt (the discovery stage's images). */
  additionalImages: SourceRef[];
  blockedImages: SourceRef[];
  channels: Channel[];
  /** platform.release: release images named directly. */
  releases: SourceRef[];
  architectures: string[];
}

/** Parses an ImageSetConfiguration (YAML); errors name the field: `--imageset mirror.platform.channels[0].name: …`. */
export const parseImageSet = (text: string): ImageSet => {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new PrestageInputError(FLAG, `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = imageSetSchema.safeParse(doc);
  if (!r.success) throw fromZod(r.error, `${FLAG} `);
  const m = r.data.mirror;
  const refs = (list: { name: string }[] | undefined, key: string) => (list ?? []).map((e, i) => parseSourceRef(e.name, `${FLAG} mirror.${key}[${i}].name`));
  const channels = (m.platform?.channels ?? []).map((c, i): Channel => {
    const field = `mirror.platform.channels[${i}]`;
    const minor = c.name.slice(c.name.indexOf('-') + 1);
    for (const [key, v] of [['minVersion', c.minVersion], ['maxVersion', c.maxVersion]] as const) {
      if (v && !v.startsWith(`${minor}.`)) throw new PrestageInputError(`${FLAG} ${field}.${key}`, `${v} is not in channel ${c.name}`);
    }
    if (c.minVersion && c.maxVersion && compareVersions(c.minVersion, c.maxVersion) > 0) {
      throw new PrestageInputError(`${FLAG} ${field}.minVersion`, `${c.minVersion} is above maxVersion ${c.maxVersion}`);
    }
    return { name: c.name, minor, minVersion: c.minVersion, maxVersion: c.maxVersion, full: c.full ?? false, field };
  });
  const releases = m.platform?.release ? [parseSourceRef(m.platform.release, `${FLAG} mirror.platform.release`)] : [];
  return {
    additionalImages: refs(m.additionalImages, 'additionalImages'),
    blockedImages: refs(m.blockedImages, 'blockedImages'),
    channels,
    releases,
    architectures: m.platform?.architectures ?? ['amd64'],
  };
};

export const compareVersions = (a: string, b: string): number => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
};

/** Whether `blocked` (a repository, or an exact tag/digest reference) blocks `ref`. */
export const isBlocked = (ref: SourceRef, blocked: SourceRef[]): boolean =>
  blocked.some((b) => b.host === ref.host && b.repository === ref.repository && (b.tag === undefined || b.tag === ref.tag) && (b.digest === undefined || b.digest === ref.digest));

/**
 * Resolves platform channels against the releases the registry holds (there is no update graph
 * offline): the tags `<x.y.z>-<arch>` of the channel's minor in the release repositories, between
 * minVersion and maxVersion (each defaulting to the lowest / highest held); without either, only
 * the highest, unless `full`, as oc-mirror does. A channel that matches nothing is an error.
 */
export const resolveChannels = async (client: OciClient, channels: Channel[], arch: string, repos = RELEASE_REPOS): Promise<{ version: string; repo: string; tag: string }[]> => {
  if (channels.length === 0) return [];
  const held: { version: string; repo: string; tag: string }[] = [];
  const seen = new Set<string>();
  const pattern = new RegExp(`^(\\d+\\.\\d+\\.\\d+)-${arch}$`);
  for (const repo of repos) {
    for (const tag of await client.listTags(repo)) {
      const v = pattern.exec(tag)?.[1];
      if (v && !seen.has(v)) {
        seen.add(v);
        held.push({ version: v, repo, tag });
      }
    }
  }
  held.sort((a, b) => compareVersions(a.version, b.version));
  const out = new Map<string, { version: string; repo: string; tag: string }>();
  for (const c of channels) {
    const inMinor = held.filter((h) => h.version.startsWith(`${c.minor}.`));
    let picked = inMinor.filter((h) => (!c.minVersion || compareVersions(h.version, c.minVersion) >= 0) && (!c.maxVersion || compareVersions(h.version, c.maxVersion) <= 0));
    if (!c.minVersion && !c.maxVersion && !c.full) picked = picked.slice(-1);
    if (picked.length === 0) {
      const range = c.minVersion || c.maxVersion ? ` between ${c.minVersion ?? 'any'} and ${c.maxVersion ?? 'any'}` : '';
      throw new PrestageInputError(
        `${FLAG} ${c.field}`,
        `no ${c.minor} release${range} for ${arch} in the registry (looked for <x.y.z>-${arch} tags in ${repos.join(', ')}; held: ${inMinor.map((h) => h.version).join(', ') || 'none'})`,
      );
    }
    for (const p of picked) out.set(p.version, p);
  }
  return [...out.values()];
};
