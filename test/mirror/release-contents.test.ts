/** Release contents from a release image's layer tarballs built here: image-references and release-metadata, streamed. */
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { MirrorInputError } from '../../src/mirror/errors.js';
import { parseReleaseFiles, readReleaseContents, type ReleaseLayer } from '../../src/mirror/release-contents.js';

const tar = async (files: { name: string; body: string | Buffer }[]) => {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const f of files) p.entry({ name: f.name, mode: 0o644 }, f.body);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
};

/** A layer whose bytes arrive in small pieces, as a registry stream would give them. */
const layer = (bytes: Buffer, gzip: boolean): ReleaseLayer => {
  const body = gzip ? gzipSync(bytes) : bytes;
  return {
    digest: `sha256:${'0'.repeat(64)}`,
    mediaType: gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
    chunks: async function* () {
      for (let i = 0; i < body.length; i += 1000) yield body.subarray(i, i + 1000);
    },
  };
};

const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
const references = (tags: { name: string; image: string }[]) =>
  JSON.stringify({
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: '4.19.3', creationTimestamp: null },
    spec: { lookupPolicy: { local: false }, tags: tags.map((t) => ({ name: t.name, annotations: {}, from: { kind: 'DockerImage', name: t.image }, generation: null, importPolicy: {}, referencePolicy: { type: '' } })) },
  });
const metadata = (version: string, extra: Record<string, string> = {}) => JSON.stringify({ kind: 'cincinnati-metadata-v0', version, previous: ['4.19.2'], metadata: { url: 'https://access.redhat.com/errata/x', ...extra } });

describe('release contents', () => {
  const components = [
    { name: 'cli', image: `${ART}@sha256:${'c'.repeat(64)}` },
    { name: 'installer', image: `${ART}@sha256:${'d'.repeat(64)}` },
    { name: 'machine-os-images', image: `${ART}@sha256:${'e'.repeat(64)}` },
  ];

  it('reads the components and the version from the last layer, gzipped or plain tar, ./-prefixed or not', async () => {
    const first = layer(await tar([{ name: 'usr/bin/cluster-version-operator', body: Buffer.alloc(50_000, 1) }]), true);
    for (const gzip of [true, false]) {
      const last = layer(
        await tar([
          { name: './release-manifests/0000_00_cluster-version-operator_00_namespace.yaml', body: 'kind: Namespace\n' },
          { name: './release-manifests/image-references', body: references(components) },
          { name: 'release-manifests/release-metadata', body: metadata('4.19.3') },
        ]),
        gzip,
      );
      expect(await readReleaseContents([first, last], 'release x')).toEqual({ version: '4.19.3', components });
    }
  });

  it('looks in earlier layers when the last does not hold the files, and says which image holds none', async () => {
    const files = layer(await tar([{ name: 'release-manifests/image-references', body: references(components.slice(0, 1)) }]), true);
    const other = layer(await tar([{ name: 'usr/share/x', body: 'x' }]), true);
    expect(await readReleaseContents([files, other], 'release x')).toEqual({ version: '', components: components.slice(0, 1) });
    await expect(readReleaseContents([other], 'release image quay.io/a/b@sha256:1')).rejects.toThrow('release image quay.io/a/b@sha256:1 holds no release-manifests/image-references');
    await expect(readReleaseContents([{ ...other, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }], 'r')).rejects.toThrow(/zstd-compressed/);
  });

  it('reads the multi-arch marker of release-metadata', () => {
    expect(parseReleaseFiles(Buffer.from(references(components)), Buffer.from(metadata('4.19.3', { 'release.openshift.io/architecture': 'multi' })))).toEqual({ version: '4.19.3', architecture: 'multi', components });
  });

  it('names the file and field at fault', () => {
    const bad = (refs: string, meta?: string) => {
      try {
        parseReleaseFiles(Buffer.from(refs), meta === undefined ? undefined : Buffer.from(meta));
      } catch (err) {
        expect(err).toBeInstanceOf(MirrorInputError);
        return (err as Error).message;
      }
      return 'parsed';
    };
    expect(bad(JSON.stringify({ kind: 'ImageStream', spec: { tags: [{ name: 'cli', from: { kind: 'ImageStreamTag', name: 'x' } }] } }))).toMatch(/^release-manifests\/image-references spec\.tags\[0\]\.from\.kind: /);
    expect(bad(JSON.stringify({ kind: 'ImageStream', spec: { tags: [] } }))).toMatch(/^release-manifests\/image-references spec\.tags: /);
    expect(bad('{nope')).toMatch(/^release-manifests\/image-references: is not JSON/);
    expect(bad(references(components), '{"kind":"x"}')).toMatch(/^release-manifests\/release-metadata kind: /);
  });
});
