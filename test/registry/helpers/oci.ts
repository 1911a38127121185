/**
 * Builders for OCI / Docker content used by the registry conformance tests: blobs with their
 * digests, image manifests, indexes, artifacts with `subject`, Docker schema2 manifests and
 * manifest lists. Manifests are serialised with an unusual indentation and key order so that a
 * registry which re-serialises instead of storing the pushed bytes is caught.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Descriptor as CoreDescriptor } from '../../../src/registry/core/manifest.js';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const ACCEPT_ALL = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ');

export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
export const sha512 = (bytes: Uint8Array): string => `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
export const hexOf = (digest: string): string => digest.slice(digest.indexOf(':') + 1);

export interface Blob {
  bytes: Buffer;
  digest: string;
  size: number;
}

export const blobOf = (data: string | Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Blob => {
  const bytes = Buffer.from(data);
  return { bytes, digest: algorithm === 'sha256' ? sha256(bytes) : sha512(bytes), size: bytes.length };
};

/** Random content: unique per call, so GC assertions about it never collide with other tests. */
export const randomBlob = (size = 2048): Blob => blobOf(randomBytes(size));

/** The OCI empty descriptor's blob (`{}`), shared by every artifact: never assert its deletion. */
export const EMPTY = blobOf('{}');

/** A unique (random) image config blob. */
export const configBlob = (): Blob =>
  blobOf(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { nonce: randomBytes(8).toString('hex') } } }));

/** A descriptor as the tests write them: reef's, plus the platform of index entries. */
export interface Descriptor extends CoreDescriptor {
  platform?: { architecture: string; os: string };
}

export interface Manifest {
  bytes: Buffer;
  digest: string;
  size: number;
  mediaType: string;
  doc: Record<string, unknown>;
}

export const descriptorOf = (content: Blob | Manifest, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType,
  digest: content.digest,
  size: content.size,
  ...extra,
});

/** Serialises `doc` with 3-space indentation and a trailing newline: bytes no re-serialiser writes. */
export const manifestOf = (doc: Record<string, unknown>, mediaType: string): Manifest => {
  const bytes = Buffer.from(`${JSON.stringify(doc, null, 3)}\n`);
  return { bytes, digest: sha256(bytes), size: bytes.length, mediaType, doc };
};

export interface ImageOpts {
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** An OCI image manifest (keys deliberately not in the spec's usual order). */
export const imageManifest = (config: Descriptor, layers: Descriptor[], opts: ImageOpts = {}): Manifest =>
  manifestOf(
    {
      layers,
      config,
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      mediaType: MT.ociManifest,
      schemaVersion: 2,
    },
    MT.ociManifest,
  );

/** An OCI artifact: empty config, `artifactType`, optional `subject` (a referrer). */
export const artifactManifest = (artifactType: string, layers: Descriptor[], opts: Omit<ImageOpts, 'artifactType'> = {}): Manifest =>
  imageManifest(descriptorOf(EMPTY, MT.ociEmpty), layers, { ...opts, artifactType });

export const indexManifest = (children: Descriptor[], opts: ImageOpts = {}): Manifest =>
  manifestOf(
    {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: children,
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    MT.ociIndex,
  );

export const dockerManifest = (config: Descriptor, layers: Descriptor[]): Manifest =>
  manifestOf({ schemaVersion: 2, mediaType: MT.dockerManifest, config, layers }, MT.dockerManifest);

export const dockerList = (children: Descriptor[]): Manifest =>
  manifestOf({ schemaVersion: 2, mediaType: MT.dockerList, manifests: children }, MT.dockerList);

export const platform = (architecture: string) => ({ architecture, os: 'linux' });
