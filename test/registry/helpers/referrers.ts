/** Referrers API helpers: push an artifact with a `subject`, read `/v2/<name>/referrers/<digest>`. */
import { expect } from 'vitest';
import { type Fetch, pushBlob, pushManifest } from './client.js';
import { artifactManifest, type Descriptor, descriptorOf, EMPTY, type Manifest, MT, randomBlob } from './oci.js';

/** Pushes an artifact (empty config, one random layer) by digest; asserts `OCI-Subject` on the PUT. */
export const pushReferrer = async (
  f: Fetch, base: string, repo: string, artifactType: string, subject: Descriptor, annotations?: Record<string, string>,
): Promise<{ manifest: Manifest; layer: ReturnType<typeof randomBlob> }> => {
  const layer = await pushBlob(f, base, repo, randomBlob(300));
  await pushBlob(f, base, repo, EMPTY);
  const manifest = artifactManifest(artifactType, [descriptorOf(layer, 'application/json')], { subject, ...(annotations ? { annotations } : {}) });
  const res = await pushManifest(f, repo, manifest.digest, manifest);
  expect(res.headers.get('oci-subject')).toBe(subject.digest);
  return { manifest, layer };
};

/** GET referrers: asserts 200 and an OCI index; returns descriptors sorted by artifactType. */
export const getReferrers = async (f: Fetch, repo: string, digest: string, query = '') => {
  const res = await f(`/v2/${repo}/referrers/${digest}${query}`);
  const text = await res.text();
  expect(res.status, `GET referrers ${digest}: ${text}`).toBe(200);
  expect(res.headers.get('content-type')).toBe(MT.ociIndex);
  const body = JSON.parse(text) as { schemaVersion: number; mediaType: string; manifests: Array<Record<string, unknown>> };
  expect([body.schemaVersion, body.mediaType]).toEqual([2, MT.ociIndex]);
  const manifests = [...body.manifests].sort((a, b) => String(a.artifactType).localeCompare(String(b.artifactType)));
  return { headers: res.headers, manifests };
};
