/**
 * What the writer is given per image, and the checks that keep an archive self-consistent: the
 * manifest bytes hash to their digest, every blob an image manifest names is listed with a size,
 * and an index's children are among the manifests it lists.
 */
import { digestOf, isDigest, parseDigest } from '../../registry/core/digest.js';
import { parseManifest } from '../../registry/core/manifest.js';
import { checkName, checkTag } from '../../registry/core/names.js';
import { MirrorArchiveError } from './errors.js';

export interface ManifestInput {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

export interface BlobRef {
  digest: string;
  size: number;
}

/** A manifest with the blobs it uses (config and layers) or, for an index, its children. */
export interface ManifestNode {
  manifest: ManifestInput;
  blobs?: BlobRef[];
  /** An index's child manifests to archive (a subset of its list: platforms left out are not archived). */
  children?: ManifestNode[];
}

export interface ImageInput extends ManifestNode {
  repo: string;
  tag?: string;
}

/**
 * Called for each blob the archive needs and the cache lacks; the bytes are checked against the
 * digest (by the cache, unless the source is marked with digestCheckedBySource).
 */
export type FetchBlob = (digest: string) => Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>;

const checkingSources = new WeakSet<object>();

/**
 * Marks a blob source that checks its bytes against the digest itself and throws at its end when
 * they do not match (the registry client's blobChunks read from 0): the cache then counts them
 * but does not hash them a second time. The cache reads every source to its end before keeping it.
 */
export const digestCheckedBySource = <T extends AsyncIterable<Uint8Array>>(source: T): T => {
  checkingSources.add(source);
  return source;
};

export const isDigestCheckedBySource = (source: object): boolean => checkingSources.has(source);

/** An image flattened: its manifests (top first) with their bytes, and the other blobs with sizes. */
export interface CheckedImage {
  repo: string;
  tag: string | undefined;
  manifests: { digest: string; bytes: Buffer }[];
  blobs: BlobRef[];
}

const invalid = (where: string, message: string) => new MirrorArchiveError('IMAGE_INVALID', `${where}: ${message}`);

const wrap = <T>(where: string, fn: () => T): T => {
  try {
    return fn();
  } catch (err) {
    throw err instanceof MirrorArchiveError ? err : invalid(where, (err as Error).message);
  }
};

export const checkImage = (image: ImageInput): CheckedImage => {
  const ref = `${image.repo}${image.tag === undefined ? '' : `:${image.tag}`}`;
  wrap(ref, () => checkName(image.repo));
  if (image.tag !== undefined) wrap(ref, () => checkTag(image.tag!));
  const manifests: CheckedImage['manifests'] = [];
  const blobs = new Map<string, number>();
  const visit = (node: ManifestNode, where: string, depth: number) => {
    if (depth > 4) throw invalid(where, 'indexes nested too deep');
    const { manifest } = node;
    const algorithm = wrap(where, () => parseDigest(manifest.digest)).algorithm;
    const bytes = Buffer.from(manifest.bytes);
    if (digestOf(bytes, algorithm) !== manifest.digest) throw invalid(where, `manifest bytes do not hash to ${manifest.digest}`);
    const parsed = wrap(where, () => parseManifest(bytes, manifest.mediaType));
    manifests.push({ digest: manifest.digest, bytes });
    const given = new Map<string, number>();
    for (const b of node.blobs ?? []) {
      if (!isDigest(b.digest) || !Number.isSafeInteger(b.size) || b.size < 0) throw invalid(where, `bad blob ${JSON.stringify(b)}`);
      given.set(b.digest, b.size);
      const was = blobs.get(b.digest);
      if (was !== undefined && was !== b.size) throw invalid(where, `blob ${b.digest} given with two sizes (${was}, ${b.size})`);
      blobs.set(b.digest, b.size);
    }
    for (const d of parsed.blobs) if (!given.has(d)) throw invalid(where, `the manifest uses blob ${d}, not in blobs`);
    for (const child of node.children ?? []) {
      if (!parsed.manifests.includes(child.manifest.digest)) throw invalid(where, `child ${child.manifest.digest} is not listed by the index`);
      visit(child, `${where} child ${child.manifest.digest}`, depth + 1);
    }
  };
  visit(image, ref, 0);
  return { repo: image.repo, tag: image.tag, manifests, blobs: [...blobs].map(([digest, size]) => ({ digest, size })) };
};
