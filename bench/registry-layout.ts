import { createHash } from 'node:crypto';
import { createReadStream, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** What the manifest load sends as Accept (what skopeo/containerd send, OCI first). */
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface BigLayout {
  /** The OCI image layout directory (oci-layout, index.json, blobs/sha256/…). */
  dir: string;
  /** The tag inside the layout (`oci:<dir>:<tag>`). */
  tag: string;
  layerDigest: string;
  layerSize: number;
  configDigest: string;
  manifestDigest: string;
  manifestSize: number;
  /** Whether the layout was (re)built by this call, and how long hashing the layer took (0 when cached). */
  built: boolean;
  hashMs: number;
}

const sha256Hex = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

const sha256File = async (path: string): Promise<string> => {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
};

/**
 * The sha256 of `file`, cached next to it in `<file>.sha256` together with its size and mtime
 * (recomputed when either changed).
 */
export const cachedSha256 = async (file: string): Promise<{ hex: string; ms: number }> => {
  const st = statSync(file);
  const cacheFile = `${file}.sha256`;
  const stamp = `${st.size} ${Math.floor(st.mtimeMs)}`;
  if (existsSync(cacheFile)) {
    const [hex, ...rest] = readFileSync(cacheFile, 'utf8').trim().split(' ');
    if (hex && /^[a-f0-9]{64}$/.test(hex) && rest.join(' ') === stamp) return { hex, ms: 0 };
  }
  const t0 = performance.now();
  const hex = await sha256File(file);
  writeFileSync(cacheFile, `${hex} ${stamp}\n`);
  return { hex, ms: performance.now() - t0 };
};

/**
 * An OCI image layout holding one image: a single uncompressed-tar layer whose bytes are
 * `bigFile` (hard-linked into blobs/sha256, not copied), a small config, a manifest, index.json.
 * Built once under `dir` and reused while the layer's digest is unchanged.
 */
export const ensureBigLayout = async (dir: string, bigFile: string, tag = 'big'): Promise<BigLayout> => {
  const { hex: layerHex, ms: hashMs } = await cachedSha256(bigFile);
  const layerSize = statSync(bigFile).size;
  const layerDigest = `sha256:${layerHex}`;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created_by: 'reef bench: 1 GiB of random bytes as one layer' }],
    }),
  );
  const configDigest = `sha256:${sha256Hex(config)}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER_TAR, digest: layerDigest, size: layerSize }],
    }),
  );
  const manifestDigest = `sha256:${sha256Hex(manifest)}`;
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  });
  const result = { dir, tag, layerDigest, layerSize, configDigest, manifestDigest, manifestSize: manifest.length };

  const blob = (digest: string) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const upToDate =
    existsSync(join(dir, 'oci-layout')) &&
    existsSync(join(dir, 'index.json')) &&
    readFileSync(join(dir, 'index.json'), 'utf8') === index &&
    existsSync(blob(manifestDigest)) &&
    existsSync(blob(configDigest)) &&
    existsSync(blob(layerDigest)) &&
    statSync(blob(layerDigest)).ino === statSync(bigFile).ino;
  if (upToDate) return { ...result, built: false, hashMs };

  rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'blobs', 'sha256'), { recursive: true });
  const tmpBlob = (digest: string) => join(tmp, 'blobs', 'sha256', digest.slice('sha256:'.length));
  linkSync(bigFile, tmpBlob(layerDigest));
  writeFileSync(tmpBlob(configDigest), config);
  writeFileSync(tmpBlob(manifestDigest), manifest);
  writeFileSync(join(tmp, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(tmp, 'index.json'), index);
  renameSync(tmp, dir);
  return { ...result, built: true, hashMs };
};
