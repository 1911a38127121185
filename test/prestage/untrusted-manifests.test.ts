import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/ignition/prestage/manifests.js';
import type { OciClient } from '../../src/registry/client/oci-client.js';

/**
 * Manifests as a hostile or broken registry could serve them, fed to pre-staging's resolver
 * through its client interface: nothing but sha256/sha512 digests and whole sizes gets through,
 * since digests become file names in the archive and sizes byte counts.
 */
const serving = (doc: unknown): OciClient => {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { getManifest: async () => ({ bytes, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }) } as unknown as OciClient;
};
const good = `sha256:${'a'.repeat(64)}`;
const image = (layer: Record<string, unknown>) => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: good, size: 10 },
  layers: [layer],
});

describe('pre-staging takes only sane descriptors from a registry', () => {
  for (const [what, layer, says] of [
    ['a digest that is a path', { digest: 'sha256:../../../etc/cron.d/x', size: 1 }, /layers\[0\]\.digest "sha256:..\/..\/..\/etc\/cron.d\/x" is not a sha256 or sha512 digest/],
    ['an md5 digest', { digest: `md5:${'b'.repeat(32)}`, size: 1 }, /is not a sha256 or sha512 digest/],
    ['a fractional size', { digest: good, size: 1.5 }, /layers\[0\]\.size 1\.5 is not a whole number of bytes/],
    ['a negative size', { digest: good, size: -1 }, /is not a whole number of bytes/],
    ['a size as text', { digest: good, size: '100' }, /layers\[0\]\.size "100" is not a whole number/],
  ] as const) {
    it(`refuses ${what}`, async () => {
      await expect(resolveImage(serving(image({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer })), 'r', 'v1')).rejects.toThrow(says);
    });
  }

  it('refuses an index entry whose digest is not one', async () => {
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: '../x', platform: { os: 'linux', architecture: 'amd64' } }] };
    await expect(resolveImage(serving(index), 'r', 'v1')).rejects.toThrow(/index entry for linux\/amd64 has digest "..\/x"/);
  });

  it('takes a sane one', async () => {
    const img = await resolveImage(serving(image({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha512:${'c'.repeat(128)}`, size: 42 })), 'r', 'v1');
    expect(img.blobs.map((b) => [b.digest.slice(0, 7), b.size])).toEqual([['sha256:', 10], ['sha512:', 42]]);
  });
});
