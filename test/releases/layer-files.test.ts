/** Files of an image as its layers stack them: whiteouts of a parent, opaque directories, hard links, a later copy, bad digests. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { findFilesInLayers, type LayerRef } from '../../src/releases/extract/layer-files.js';
import { type LayerFile, tarOf } from '../fixtures/synthetic-release.js';

const file = (path: string, body: string): LayerFile => ({ path, body: Buffer.from(body) });

/** Layers in memory, gzipped, addressed by digest. */
const layers = async (...sets: (LayerFile[] | Buffer)[]) => {
  const blobs = new Map<string, Buffer>();
  const refs: LayerRef[] = [];
  for (const set of sets) {
    const gz = gzipSync(Buffer.isBuffer(set) ? set : await tarOf(set));
    const digest = `sha256:${createHash('sha256').update(gz).digest('hex')}`;
    blobs.set(digest, gz);
    refs.push({ digest, size: gz.length });
  }
  return { refs, open: async (d: string) => Readable.from([blobs.get(d)!]), blobs };
};

const read = async (l: Awaited<ReturnType<typeof layers>>, wanted: string[]) => {
  const found = await findFilesInLayers({
    layers: l.refs,
    open: l.open,
    wanted,
    capture: async (_p, bytes) => {
      const chunks: Buffer[] = [];
      for await (const c of bytes) chunks.push(c as Buffer);
      return { text: Buffer.concat(chunks).toString(), discard: async () => {} };
    },
  });
  return Object.fromEntries([...found].map(([k, v]) => [k, v.text]));
};

describe('files of stacked layers', () => {
  it('a whiteout of a parent directory removes what is under it; a later layer may put it back', async () => {
    const l = await layers([file('usr/share/openshift/mac/oc', 'v1'), file('usr/share/openshift/windows/oc.exe', 'v1')], [file('usr/share/.wh.openshift', '')], [file('usr/share/openshift/windows/oc.exe', 'v3')]);
    expect(await read(l, ['usr/share/openshift/mac/oc', 'usr/share/openshift/windows/oc.exe'])).toEqual({ 'usr/share/openshift/windows/oc.exe': 'v3' });
  });

  it('an opaque directory hides the lower layers under it, not its own files nor other directories', async () => {
    const l = await layers([file('coreos/a.iso', 'old'), file('coreos/b.iso', 'old'), file('other/c', 'kept')], [file('coreos/.wh..wh..opq', ''), file('coreos/b.iso', 'new')]);
    expect(await read(l, ['coreos/a.iso', 'coreos/b.iso', 'other/c'])).toEqual({ 'coreos/b.iso': 'new', 'other/c': 'kept' });
  });

  it('follows hard links and symlinks (relative, absolute, through several hops), and ./ names', async () => {
    const l = await layers([file('usr/bin/oc', 'oc itself'), { path: 'usr/bin/kubectl', body: Buffer.alloc(0), linkname: 'usr/bin/oc', hard: true }], [{ path: './usr/bin/oc-link', body: Buffer.alloc(0), linkname: '/usr/bin/kubectl' }, { path: 'usr/local/oc', body: Buffer.alloc(0), linkname: '../bin/oc-link' }]);
    expect(await read(l, ['usr/bin/kubectl', 'usr/local/oc', 'usr/bin/oc'])).toEqual({ 'usr/bin/kubectl': 'oc itself', 'usr/local/oc': 'oc itself', 'usr/bin/oc': 'oc itself' });
  });

  it('refuses a layer whose bytes do not hash to its digest', async () => {
    const l = await layers([file('usr/bin/oc', 'oc')]);
    const blob = l.blobs.get(l.refs[0]!.digest)!;
    blob[20]! ^= 0xff;
    await expect(read(l, ['usr/bin/oc'])).rejects.toThrow();
    const other = await layers([file('usr/bin/oc', 'oc')]);
    other.refs[0] = { ...other.refs[0]!, digest: `sha256:${'0'.repeat(64)}` };
    other.blobs.set(other.refs[0].digest, other.blobs.values().next().value!);
    await expect(read(other, ['usr/bin/oc'])).rejects.toThrow(/hash to sha256:/);
  });
});
