import { type BlockedImage, parseImageSetConfiguration } from '../../mirror/imageset.js';
import type { SourceRef } from '../../mirror/image-ref.js';
import { selectVersions } from '../../mirror/release-graph.js';
import { versionsFromTags } from '../../mirror/release-resolve.js';
import { compareVersions, minorOf } from '../../mirror/versions.js';
import type { OciClient } from '../../registry/client/oci-client.js';
import { asPrestageError, PrestageInputError } from './errors.js';
import { RELEASE_REPOS } from './release.js';

export { isBlocked } from '../../mirror/imageset.js';
export { compareVersions } from '../../mirror/versions.js';

/**
 * `--imageset`: the ImageSetConfiguration as the mirror core reads it (src/mirror/imageset.ts),
 * shaped for pre-staging. Errors name the flag and the field: `--imageset mirror.platform.channels[0].name: …`.
 * `platform.graph` is ignored (pre-staging has no use for the graph image); a channel's bounds
 * must lie in its own minor, since channels resolve against the registry's `<x.y.z>-<arch>` tags.
 */

const FLAG = '--imageset';

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
  blockedImages: BlockedImage[];
  channels: Channel[];
  /** platform.release: release images named directly. */
  releases: SourceRef[];
  architectures: string[];
}

export const parseImageSet = (text: string): ImageSet => {
  let set: ReturnType<typeof parseImageSetConfiguration>;
  try {
    set = parseImageSetConfiguration(text, { graph: 'ignore' });
  } catch (err) {
    throw asPrestageError(err, FLAG);
  }
  const channels = set.channels.map(({ name, minor, minVersion, maxVersion, full, field }): Channel => {
    for (const [key, v] of [['minVersion', minVersion], ['maxVersion', maxVersion]] as const) {
      if (v && minorOf(v) !== minor) throw new PrestageInputError(`${FLAG} ${field}.${key}`, `${v} is not in channel ${name}`);
    }
    return { name, minor, minVersion, maxVersion, full, field };
  });
  return { additionalImages: set.additionalImages, blockedImages: set.blockedImages, channels, releases: set.release ? [set.release] : [], architectures: set.architectures };
};

/**
 * Resolves platform channels against the releases the registry holds (there is no update graph
 * offline): the tags `<x.y.z>-<arch>` of the channel's minor in the release repositories, picked
 * as the mirror core picks them (selectVersions: between minVersion and maxVersion; without
 * either, only the newest, unless `full`). A channel that matches nothing is an error.
 */
export const resolveChannels = async (client: OciClient, channels: Channel[], arch: string, repos = RELEASE_REPOS): Promise<{ version: string; repo: string; tag: string }[]> => {
  if (channels.length === 0) return [];
  const held = new Map<string, { version: string; repo: string; tag: string }>();
  for (const repo of repos) {
    for (const version of versionsFromTags(await client.listTags(repo), arch)) if (!held.has(version)) held.set(version, { version, repo, tag: `${version}-${arch}` });
  }
  const versions = [...held.keys()].sort(compareVersions);
  const out = new Map<string, { version: string; repo: string; tag: string }>();
  for (const c of channels) {
    const inMinor = versions.filter((v) => minorOf(v) === c.minor);
    const picked = selectVersions(c, inMinor);
    if (picked.length === 0) {
      const range = c.minVersion || c.maxVersion ? ` between ${c.minVersion ?? 'any'} and ${c.maxVersion ?? 'any'}` : '';
      throw new PrestageInputError(
        `${FLAG} ${c.field}`,
        `no ${c.minor} release${range} for ${arch} in the registry (looked for <x.y.z>-${arch} tags in ${repos.join(', ')}; held: ${inMinor.join(', ') || 'none'})`,
      );
    }
    for (const v of picked) out.set(v, held.get(v)!);
  }
  return [...out.values()];
};
