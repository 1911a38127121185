import yaml from 'js-yaml';
import { z } from 'zod';
import { fromZod, MirrorInputError, unsupported } from './errors.js';
import { parseSourceRef, type SourceRef } from './image-ref.js';
import { compareVersions, VERSION } from './versions.js';

/**
 * The ImageSetConfiguration (`mirror.openshift.io/v2alpha1`, oc-mirror v2's input; `v1alpha2`
 * files are read the same way) as reef reads it, for `reef mirror` and `reef prestage download
 * --imageset`. Errors name the field: `mirror.platform.channels[0].name: …`. What oc-mirror
 * accepts and reef does not do yet (operator catalogs, Helm charts, the graph image, KubeVirt
 * images, platform filters, target overrides) is refused by name rather than ignored.
 */

export const ARCHITECTURES = ['amd64', 'arm64', 'ppc64le', 's390x', 'multi'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** oc-mirror's `archiveSize` default, in GiB. */
export const DEFAULT_ARCHIVE_SIZE = 500;

export interface ReleaseChannel {
  /** `stable-4.19` */
  name: string;
  /** `4.19` */
  minor: string;
  minVersion?: string;
  maxVersion?: string;
  /** Only the upgrade path from minVersion to maxVersion (oc-mirror's `shortestPath`). */
  shortestPath: boolean;
  /** Every release of the channel, not only its head, when no bound is given. */
  full: boolean;
  /** Where it came from, for errors: `mirror.platform.channels[0]`. */
  field: string;
}

/** A `blockedImages` entry: as in oc-mirror v2, a regular expression matched against image references. */
export interface BlockedImage {
  name: string;
  pattern: RegExp;
  field: string;
}

export interface ImageSetConfiguration {
  channels: ReleaseChannel[];
  /** `platform.architectures`, default `[amd64]`. */
  architectures: Architecture[];
  /** `platform.release`: a release image named directly. */
  release?: SourceRef;
  /** `platform.graph` (only when the caller ignores it rather than refusing it). */
  graph: boolean;
  additionalImages: SourceRef[];
  blockedImages: BlockedImage[];
  /** GiB (1024³ bytes) per archive file, default 500. */
  archiveSize: number;
}

export interface ParseImageSetOptions {
  /** `mirror.platform.graph: true`: refused (default), or read and left to the caller (pre-staging has no use for it). */
  graph?: 'refuse' | 'ignore';
}

const version = z.string().regex(VERSION, 'expected a version like 4.19.2');

const channel = z.strictObject({
  name: z.string().regex(/^(stable|fast|candidate|eus)-\d+\.\d+$/, 'expected a channel like stable-4.19 (stable|fast|candidate|eus-<major>.<minor>)'),
  type: z.enum(['ocp', 'okd']).optional(),
  minVersion: version.optional(),
  maxVersion: version.optional(),
  shortestPath: z.boolean().optional(),
  full: z.boolean().optional(),
});

const schema = z.strictObject({
  kind: z.literal('ImageSetConfiguration'),
  apiVersion: z.enum(['mirror.openshift.io/v2alpha1', 'mirror.openshift.io/v1alpha2']),
  archiveSize: z.number().int().nonnegative().optional(),
  storageConfig: z.unknown().optional(),
  mirror: z.strictObject({
    platform: z
      .strictObject({
        architectures: z.array(z.enum(ARCHITECTURES)).min(1).optional(),
        channels: z.array(channel).optional(),
        graph: z.boolean().optional(),
        release: z.string().min(1).optional(),
        kubeVirtContainer: z.boolean().optional(),
        platforms: z.unknown().optional(),
      })
      .optional(),
    additionalImages: z.array(z.strictObject({ name: z.string().min(1), targetRepo: z.unknown().optional(), targetTag: z.unknown().optional(), platforms: z.unknown().optional() })).optional(),
    blockedImages: z.array(z.strictObject({ name: z.string().min(1) })).optional(),
    operators: z.unknown().optional(),
    helm: z.unknown().optional(),
    samples: z.unknown().optional(),
  }),
});

/** null, undefined, false, an empty list, or an object of those. */
const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every(isEmpty));

const refuseUnsupported = (doc: z.infer<typeof schema>, opts: ParseImageSetOptions) => {
  const m = doc.mirror;
  const checks: [string, unknown, string][] = [
    ['mirror.operators', m.operators, 'operator catalogs'],
    ['mirror.helm', m.helm, 'Helm charts'],
    ['mirror.samples', m.samples, 'sample images'],
    ['mirror.platform.kubeVirtContainer', m.platform?.kubeVirtContainer, 'KubeVirt container images'],
    ['mirror.platform.platforms', m.platform?.platforms, 'platform filters'],
    ...(opts.graph === 'ignore' ? [] : [['mirror.platform.graph', m.platform?.graph, 'update graph images'] as [string, unknown, string]]),
    ...(m.platform?.channels ?? []).map((c, i): [string, unknown, string] => [`mirror.platform.channels[${i}].type`, c.type === 'okd', 'OKD channels']),
    ...(m.additionalImages ?? []).flatMap((a, i) =>
      (['targetRepo', 'targetTag', 'platforms'] as const).map((k): [string, unknown, string] => [`mirror.additionalImages[${i}].${k}`, a[k], `${k} overrides`]),
    ),
  ];
  for (const [field, value, what] of checks) if (!isEmpty(value)) throw unsupported(field, what);
};

const channels = (list: z.infer<typeof channel>[]): ReleaseChannel[] => {
  const seen = new Set<string>();
  return list.map((c, i) => {
    const field = `mirror.platform.channels[${i}]`;
    if (seen.has(c.name)) throw new MirrorInputError(`${field}.name`, `duplicate channel ${c.name}`);
    seen.add(c.name);
    if (c.minVersion && c.maxVersion && compareVersions(c.minVersion, c.maxVersion) > 0) {
      throw new MirrorInputError(`${field}.minVersion`, `${c.minVersion} is above maxVersion ${c.maxVersion}`);
    }
    return {
      name: c.name,
      minor: c.name.slice(c.name.indexOf('-') + 1),
      ...(c.minVersion ? { minVersion: c.minVersion } : {}),
      ...(c.maxVersion ? { maxVersion: c.maxVersion } : {}),
      shortestPath: c.shortestPath ?? false,
      full: c.full ?? false,
      field,
    };
  });
};

const blocked = (list: { name: string }[]): BlockedImage[] =>
  list.map((b, i) => {
    const field = `mirror.blockedImages[${i}].name`;
    try {
      return { name: b.name, pattern: new RegExp(b.name), field };
    } catch (err) {
      throw new MirrorInputError(field, `${JSON.stringify(b.name)} is not a valid regular expression (${(err as Error).message})`);
    }
  });

/** Parses an ImageSetConfiguration (YAML). Throws MirrorInputError naming the field. */
export const parseImageSetConfiguration = (text: string, opts: ParseImageSetOptions = {}): ImageSetConfiguration => {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new MirrorInputError('', `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = schema.safeParse(doc);
  if (!r.success) throw fromZod(r.error);
  refuseUnsupported(r.data, opts);
  const m = r.data.mirror;
  const refs = (list: { name: string }[] | undefined, key: string) => (list ?? []).map((e, i) => parseSourceRef(e.name, `mirror.${key}[${i}].name`));
  return {
    channels: channels(m.platform?.channels ?? []),
    architectures: [...new Set<Architecture>(m.platform?.architectures ?? ['amd64'])],
    ...(m.platform?.release ? { release: parseSourceRef(m.platform.release, 'mirror.platform.release') } : {}),
    graph: m.platform?.graph ?? false,
    additionalImages: refs(m.additionalImages, 'additionalImages'),
    blockedImages: blocked(m.blockedImages ?? []),
    archiveSize: r.data.archiveSize || DEFAULT_ARCHIVE_SIZE,
  };
};

/** `archiveSize` (GiB) in bytes. */
export const archiveSizeBytes = (gib: number): number => gib * 2 ** 30;

/**
 * Whether a `blockedImages` entry blocks an image: its pattern matches the source reference or,
 * when given, the destination (oc-mirror v2 matches both, unanchored).
 */
export const isBlocked = (ref: SourceRef | string, list: BlockedImage[], destination?: string): boolean => {
  const text = typeof ref === 'string' ? ref : ref.text;
  return list.some((b) => b.pattern.test(text) || (destination !== undefined && b.pattern.test(destination)));
};
