/**
 * Reads images held by reef's own registry, in process (no HTTP): the ImageSource port of
 * release extraction (src/releases/extract/image-source.ts), satisfied structurally so the
 * registry knows nothing of releases. Membership is checked as a pull would: a blob is readable
 * only through a repository that holds it. A manifest comes back only when its bytes hash to its
 * digest (a file damaged on disk is not taken for the manifest).
 */
import type { Readable } from 'node:stream';
import { digestOf, parseDigest } from './core/digest.js';
import { RegistryError } from './core/errors.js';
import type { RegistryService } from './registry-service.js';
import type { BlobStore } from './storage/blob-store.fs.js';

export const createStoredImageReader = (registry: RegistryService, store: BlobStore) => ({
  async getManifest(repo: string, reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const { row, bytes } = await registry.manifest(repo, reference);
    const got = digestOf(bytes, parseDigest(row.digest).algorithm);
    if (got !== row.digest) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}@${row.digest} is damaged on disk (its bytes hash to ${got})`, { detail: { digest: row.digest } });
    return { bytes: Buffer.from(bytes), mediaType: row.mediaType, digest: row.digest };
  },
  async openBlob(repo: string, digest: string): Promise<Readable> {
    registry.blob(repo, digest);
    return store.read(digest);
  },
});
