/**
 * The port extraction reads a release through: manifests and blobs of images already in a
 * registry. Two adapters: `imageSourceFromClient` (any registry over HTTP, reef's OCI client) and
 * `createStoredImageReader` in src/registry/stored-images.ts (reef's own registry storage, in
 * process; what the server uses). Blob bytes are checked against their digest by the reader
 * (layer-files.ts), whatever the source.
 */
import type { Readable } from 'node:stream';
import type { OciClient } from '../../registry/client/oci-client.js';

export interface SourceManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ImageSource {
  /** A manifest by tag or digest (an index or an image manifest). */
  getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<SourceManifest>;
  /** The bytes of blob `digest` of `repo`, from the start. */
  openBlob(repo: string, digest: string, signal?: AbortSignal): Promise<Readable>;
}

/** An ImageSource over HTTP: a registry reached with reef's OCI client (token auth, retries, resume). */
export const imageSourceFromClient = (client: OciClient): ImageSource => ({
  getManifest: (repo, reference, signal) => client.getManifest(repo, reference, signal),
  openBlob: async (repo, digest, signal) => client.blobStream(repo, digest, signal ? { signal } : {}),
});
