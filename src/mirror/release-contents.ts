import { Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { z } from 'zod';
import { fromZod, MirrorInputError } from './errors.js';

/**
 * What a release image holds (DESIGN §7): `release-manifests/image-references`, an ImageStream
 * whose `spec.tags[]` name the components (`{name, from: {kind: DockerImage, name: repo@sha256:…}}`),
 * and `release-manifests/release-metadata` (`cincinnati-metadata-v0`: version, and for a
 * multi-arch payload `metadata["release.openshift.io/architecture"]: multi`). Read from the image's
 * layer tarballs, streamed; where the bytes come from is the caller's business.
 */

export const IMAGE_REFERENCES = 'release-manifests/image-references';
export const RELEASE_METADATA = 'release-manifests/release-metadata';
const WANTED = [IMAGE_REFERENCES, RELEASE_METADATA];
const MAX_FILE = 32 * 2 ** 20;

const imageStream = z.object({
  kind: z.literal('ImageStream'),
  spec: z.object({
    tags: z.array(z.object({ name: z.string().min(1), from: z.object({ kind: z.literal('DockerImage'), name: z.string().min(1) }) })).min(1),
  }),
});
const releaseMetadata = z.object({ kind: z.literal('cincinnati-metadata-v0'), version: z.string().min(1), metadata: z.record(z.string(), z.unknown()).optional() });

export interface ReleaseContents {
  /** From release-metadata; empty when the image has none. */
  version: string;
  /** `multi` for a multi-arch payload (release-metadata's `release.openshift.io/architecture`). */
  architecture?: string;
  /** Component name → pull spec (`repo@sha256:…`), in image-references order. */
  components: { name: string; image: string }[];
}

/** One layer of a release image: its descriptor and a way to stream its bytes. */
export interface ReleaseLayer {
  digest: string;
  mediaType: string;
  chunks: () => AsyncIterable<Uint8Array>;
}

const parseJson = (bytes: Buffer, what: string): unknown => {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MirrorInputError(what, `is not JSON (${(err as Error).message})`);
  }
};

/** Parses `image-references` and `release-metadata`; errors name the file and field (`release-manifests/image-references spec.tags[3].from.name`). */
export const parseReleaseFiles = (references: Buffer, metadata: Buffer | undefined): ReleaseContents => {
  const refs = imageStream.safeParse(parseJson(references, IMAGE_REFERENCES));
  if (!refs.success) throw fromZod(refs.error, `${IMAGE_REFERENCES} `);
  let version = '';
  let architecture: string | undefined;
  if (metadata) {
    const meta = releaseMetadata.safeParse(parseJson(metadata, RELEASE_METADATA));
    if (!meta.success) throw fromZod(meta.error, `${RELEASE_METADATA} `);
    version = meta.data.version;
    const a = meta.data.metadata?.['release.openshift.io/architecture'];
    if (typeof a === 'string' && a) architecture = a;
  }
  return { version, ...(architecture ? { architecture } : {}), components: refs.data.spec.tags.map((t) => ({ name: t.name, image: t.from.name })) };
};

/** The release files in one layer (a tar, gzipped or not), streamed to the end so a digest check on the stream sees all of it. */
export const releaseFilesInLayer = async (layer: ReleaseLayer): Promise<Map<string, Buffer>> => {
  if (/zstd/.test(layer.mediaType)) throw new Error(`release layer ${layer.digest} is zstd-compressed, which reef cannot read yet`);
  const found = new Map<string, Buffer>();
  const source = Readable.from(layer.chunks());
  const ex = extract();
  const input = /gzip/.test(layer.mediaType) ? source.pipe(createGunzip()) : source;
  source.on('error', (err) => ex.destroy(err));
  input.on('error', (err) => ex.destroy(err));
  input.pipe(ex as unknown as Writable);
  for await (const entry of ex) {
    const name = entry.header.name.replace(/^\.\//, '');
    if (WANTED.includes(name) && (entry.header.size ?? 0) <= MAX_FILE) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      found.set(name, Buffer.concat(chunks));
    } else entry.resume();
  }
  return found;
};

/**
 * Reads a release image's contents from its layers: the last first (where release payloads keep
 * release-manifests), then the earlier ones. `what` names the image in the error when none holds
 * image-references.
 */
export const readReleaseContents = async (layers: ReleaseLayer[], what: string): Promise<ReleaseContents> => {
  for (const layer of [...layers].reverse()) {
    const files = await releaseFilesInLayer(layer);
    const references = files.get(IMAGE_REFERENCES);
    if (references) return parseReleaseFiles(references, files.get(RELEASE_METADATA));
  }
  throw new Error(`${what} holds no ${IMAGE_REFERENCES}`);
};
