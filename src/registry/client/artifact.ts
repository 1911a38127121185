import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Descriptor, MEDIA } from '../core/manifest.js';
import type { OciClient } from './oci-client.js';

/** The empty config of OCI artifacts (`{}`), as oras writes it. */
export const EMPTY_CONFIG = { mediaType: MEDIA.ociEmpty, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 };
const TITLE = 'org.opencontainers.image.title';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';

/** The layer media type from the file's first bytes: a .tar.gz is tar+gzip, whatever its name says. */
const layerTypeOf = async (file: string): Promise<string> => {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head[0] === 0x1f && head[1] === 0x8b) return `${LAYER_TYPE}+gzip`;
    if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return `${LAYER_TYPE}+zstd`;
    return LAYER_TYPE;
  } finally {
    await fh.close();
  }
};

export const fileDigest = async (file: string): Promise<string> => {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
};

/**
 * Pushes one file as an OCI artifact of the oras shape: empty config, one layer titled with
 * the file name, `artifactType` on the manifest. Returns the manifest digest.
 */
export const pushArtifact = async (client: OciClient, repo: string, tag: string, file: string, artifactType: string | undefined) => {
  const size = (await stat(file)).size;
  const digest = await fileDigest(file);
  await client.pushBytes(repo, Buffer.from('{}'), EMPTY_CONFIG.digest);
  await client.pushFile(repo, file, digest);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    ...(artifactType ? { artifactType } : {}),
    config: EMPTY_CONFIG,
    layers: [{ mediaType: await layerTypeOf(file), digest, size, annotations: { [TITLE]: basename(file) } }],
    annotations: { 'org.opencontainers.image.created': new Date().toISOString() },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return client.putManifest(repo, tag, bytes, MEDIA.ociManifest);
};

export interface Platform {
  os: string;
  architecture: string;
}

/** Resolves repo:reference to an image manifest; an index or manifest list gives the platform's entry. */
export const resolveManifest = async (client: OciClient, repo: string, reference: string, platform: Platform = { os: 'linux', architecture: 'amd64' }) => {
  let m = await client.getManifest(repo, reference);
  let doc = JSON.parse(m.bytes.toString('utf8'));
  if (Array.isArray(doc.manifests)) {
    type Entry = { digest: string; platform?: Platform };
    const entries = doc.manifests as Entry[];
    const pick = entries.find((d) => d.platform?.os === platform.os && d.platform?.architecture === platform.architecture) ?? entries.find((d) => !d.platform);
    if (!pick) throw new Error(`${repo}:${reference} is an index with no ${platform.os}/${platform.architecture} manifest`);
    m = await client.getManifest(repo, pick.digest);
    doc = JSON.parse(m.bytes.toString('utf8'));
  }
  return { ...m, doc: doc as { artifactType?: string; config?: { mediaType?: string }; layers?: Descriptor[] } };
};

/**
 * The layer holding a single-file artifact: the only layer, else the one whose media type is
 * among `mediaTypes`, else the titled one.
 */
export const pickLayer = (doc: { layers?: Descriptor[] }, what: string, mediaTypes: string[] = []): Descriptor => {
  const layers = doc.layers ?? [];
  const layer = layers.length === 1 ? layers[0] : (layers.find((l) => mediaTypes.includes(l.mediaType)) ?? layers.find((l) => l.annotations?.[TITLE]));
  if (!layer) throw new Error(`${what} has ${layers.length} layers and none is titled or of type ${mediaTypes.join(' | ') || '(any)'}; not a single-file artifact`);
  return layer;
};

/** Pulls the single-file artifact at repo:reference into `out` (written to a temp name, then renamed). */
export const pullArtifact = async (client: OciClient, repo: string, reference: string, out: string) => {
  const m = await resolveManifest(client, repo, reference);
  const layer = pickLayer(m.doc, `${repo}:${reference}`);
  const tmp = `${out}.partial`;
  try {
    await client.pullToFile(repo, layer.digest, layer.size, tmp);
    await rename(tmp, out);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return { digest: layer.digest, size: layer.size, manifest: m.digest };
};
