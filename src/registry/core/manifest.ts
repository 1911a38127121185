import { documentShapeProblem, shapeMessage } from '../../core/document-shape.js';
import { isDigest } from './digest.js';
import { RegistryError } from './errors.js';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);
const IMAGE_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
export const MANIFEST_TYPES = new Set<string>([...INDEX_TYPES, ...IMAGE_TYPES]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs the manifest needs present (config and layers; foreign layers with urls excluded). */
  blobs: string[];
  /** Child manifests of an index. */
  manifests: string[];
  subject: Descriptor | null;
  /** For referrers: the manifest's artifactType, else its config's media type. */
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

const invalid = (message: string) => new RegistryError('MANIFEST_INVALID', message);

/** Annotations are a map of strings to strings wherever they appear (image-spec annotations.md). */
const checkAnnotations = (v: unknown, where: string): Record<string, string> | null => {
  if (v === undefined) return null;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${where}: must be an object of strings`);
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw invalid(`${where}.${k}: must be a string`);
  }
  return v as Record<string, string>;
};

const descriptor = (v: unknown, where: string): Descriptor => {
  if (!v || typeof v !== 'object') throw invalid(`${where}: expected a descriptor object`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(`${where}.mediaType: required`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw invalid(`${where}.digest: not a valid digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where}.size: not a size`);
  checkAnnotations(d.annotations, `${where}.annotations`);
  return d as unknown as Descriptor;
};

/**
 * Parses and checks a pushed manifest (OCI image manifest or index, Docker schema2 manifest or
 * manifest list, OCI artifacts). The bytes themselves are stored as pushed.
 */
export const parseManifest = (bytes: Uint8Array, contentType: string | undefined): ParsedManifest => {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('manifest must be a JSON object');
  const shape = documentShapeProblem(doc, { maxDepth: 32, maxExpandedBytes: 4 * bytes.length + 64 * 1024 });
  if (shape) throw invalid(`manifest is ${shapeMessage(shape)}`);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const ct = contentType?.split(';')[0]!.trim();
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (declared && ct && MANIFEST_TYPES.has(ct) && ct !== declared) {
    throw invalid(`Content-Type ${ct} does not match the manifest's mediaType ${declared}`);
  }
  let mediaType = declared ?? (ct && MANIFEST_TYPES.has(ct) ? ct : undefined);
  if (!mediaType) mediaType = Array.isArray(doc.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest;
  if (!MANIFEST_TYPES.has(mediaType)) throw new RegistryError('MANIFEST_INVALID', `unsupported manifest media type ${mediaType}`);
  const subject = doc.subject === undefined ? null : descriptor(doc.subject, 'subject');
  const annotations = checkAnnotations(doc.annotations, 'annotations');
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : null;

  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('manifests: required in an index');
    const children = doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`));
    return { mediaType, kind: 'index', blobs: [], manifests: children.map((c) => c.digest), subject, artifactType, annotations };
  }
  const config = descriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw invalid('layers: required in an image manifest');
  const layers = doc.layers.map((l, i) => descriptor(l, `layers[${i}]`));
  const blobs = [config, ...layers].filter((d) => !d.urls || d.urls.length === 0).map((d) => d.digest);
  return {
    mediaType,
    kind: 'image',
    blobs: [...new Set(blobs)],
    manifests: [],
    subject,
    artifactType: artifactType ?? config.mediaType,
    annotations,
  };
};
