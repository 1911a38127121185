import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/client.js';
import { regManifests } from '../../src/registry/meta/meta.tables.js';
import type { ParsedManifest } from '../../src/registry/core/manifest.js';
import { createSqliteRegistryMeta } from '../../src/registry/meta/meta.sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-meta-'));
const opened = openDb(dir);
const meta = createSqliteRegistryMeta(opened.db, opened.sqlite);
afterAll(() => {
  opened.close();
  rmSync(dir, { recursive: true, force: true });
});

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('sqlite registry meta: the prepared lookups', () => {
  meta.linkBlob('a/b', d('1'), 10, 1);
  const rows = [
    { repo: 'a/b', digest: d('2'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 321, artifactType: 'application/x-t', subject: d('9'), annotations: { 'org.example/x': 'y' }, createdAt: 1700000000123 },
    { repo: 'a/b', digest: d('3'), mediaType: 'application/vnd.oci.image.index.v1+json', size: 99, artifactType: null, subject: null, annotations: null, createdAt: 5 },
  ];
  for (const [i, r] of rows.entries()) {
    const parsed: ParsedManifest = { mediaType: r.mediaType, kind: 'image', blobs: [d('1')], manifests: [], subject: null, artifactType: r.artifactType, annotations: r.annotations };
    meta.putManifest(r, parsed, i === 0 ? ['v1'] : []);
  }

  it('map manifest rows exactly as drizzle reads them (subject, artifactType, annotations, with and without)', () => {
    for (const r of rows) {
      const viaDrizzle = opened.db.select().from(regManifests).where(and(eq(regManifests.repo, r.repo), eq(regManifests.digest, r.digest))).get();
      expect(meta.manifest(r.repo, r.digest)).toEqual(viaDrizzle);
      expect(meta.manifest(r.repo, r.digest)).toEqual(r);
    }
    expect(meta.manifest('a/other', rows[0]!.digest)).toBeUndefined();
  });

  it('resolve tags, blobs and repository links', () => {
    expect(meta.tag('a/b', 'v1')).toBe(d('2'));
    expect(meta.tag('a/b', 'nope')).toBeUndefined();
    expect(meta.blob(d('1'))).toEqual({ size: 10 });
    expect(meta.blob(d('8'))).toBeUndefined();
    expect(meta.repoHasBlob('a/b', d('1'))).toBe(true);
    expect(meta.repoHasBlob('a/c', d('1'))).toBe(false);
  });
});
