/** Destination and archive names as oc-mirror v2 gives them, and the dry-run mapping files. */
import { describe, expect, it } from 'vitest';
import { parseSourceRef } from '../../src/mirror/image-ref.js';
import { renderMapping, renderMissing } from '../../src/mirror/mapping.js';
import { archiveReference, destinationReference, digestTag, type ImageKind, mirrorName } from '../../src/mirror/naming.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const NS = 'registry.example.com:5000/mirror';

describe('names', () => {
  const table: { kind: ImageKind; source: string; releaseTag?: string; component?: string; archive: string; digest?: string }[] = [
    // The release image: its release tag (version and architecture), kept digest when it came by digest (the update graph's payloads do).
    { kind: 'release', source: `quay.io/openshift-release-dev/ocp-release@${D('a')}`, releaseTag: '4.19.3-x86_64', archive: 'openshift/release-images:4.19.3-x86_64', digest: D('a') },
    { kind: 'release', source: 'quay.io/openshift-release-dev/ocp-release:4.19.3-multi', releaseTag: '4.19.3-multi', archive: 'openshift/release-images:4.19.3-multi' },
    { kind: 'release', source: 'registry.ci.openshift.org/ocp/release:4.20.0-0.nightly-2025-06-01-000000', archive: 'openshift/release-images:4.20.0-0.nightly-2025-06-01-000000' },
    { kind: 'release', source: `registry.ci.openshift.org/ocp/release@${D('b')}`, archive: `openshift/release-images:sha256-${'b'.repeat(64)}`, digest: D('b') },
    // Components: openshift/release:<release tag>-<component>.
    { kind: 'release-component', source: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('c')}`, releaseTag: '4.19.3-x86_64', component: 'cli', archive: 'openshift/release:4.19.3-x86_64-cli', digest: D('c') },
    { kind: 'release-component', source: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('c')}`, releaseTag: '4.19.3-aarch64', component: 'machine-os-images', archive: 'openshift/release:4.19.3-aarch64-machine-os-images', digest: D('c') },
    // Other images keep their path; a digest-only one is tagged sha256-<hex>.
    { kind: 'generic', source: 'quay.io/acme/tool:1', archive: 'acme/tool:1' },
    { kind: 'generic', source: `quay.io/acme/tool@${D('d')}`, archive: `acme/tool:sha256-${'d'.repeat(64)}`, digest: D('d') },
    { kind: 'generic', source: `ghcr.io/acme/agent:1.2@${D('e')}`, archive: 'acme/agent:1.2', digest: D('e') },
    { kind: 'generic', source: 'registry.redhat.io/ubi9/ubi', archive: 'ubi9/ubi:latest' },
    { kind: 'generic', source: 'localhost:5000/a/b/c/d:v2', archive: 'a/b/c/d:v2' },
  ];
  it.each(table)('$kind $source → $archive', (row) => {
    const img = { kind: row.kind, source: parseSourceRef(row.source, 'x'), releaseTag: row.releaseTag, component: row.component };
    expect(archiveReference(img)).toBe(row.archive);
    expect(destinationReference(img, NS)).toBe(`${NS}/${row.archive}`);
    expect(destinationReference(img, `docker://${NS}/`)).toBe(`${NS}/${row.archive}`);
    expect(mirrorName(img).digest).toBe(row.digest);
  });
  it('needs the release tag and name of a component, and keeps digest tags within 128 characters', () => {
    expect(() => archiveReference({ kind: 'release-component', source: parseSourceRef(`quay.io/a/b@${D('c')}`, 'x'), component: 'cli' })).toThrow(/needs its release tag/);
    expect(digestTag(`sha512:${'f'.repeat(128)}`)).toHaveLength(127);
  });
});

describe('dry-run files', () => {
  const entries = [
    { source: 'registry.redhat.io/ubi9/ubi:latest', destination: `${NS}/ubi9/ubi:latest` },
    { source: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('c')}`, destination: `${NS}/openshift/release:4.19.3-x86_64-cli` },
    { source: `docker://quay.io/openshift-release-dev/ocp-release@${D('a')}`, destination: `docker://${NS}/openshift/release-images:4.19.3-x86_64` },
    { source: 'registry.redhat.io/ubi9/ubi:latest', destination: `${NS}/ubi9/ubi:latest` },
  ];
  it('writes mapping.txt as docker://<src>=docker://<dst> lines, sorted, once each', () => {
    expect(renderMapping(entries)).toBe(
      [
        `docker://quay.io/openshift-release-dev/ocp-release@${D('a')}=docker://${NS}/openshift/release-images:4.19.3-x86_64`,
        `docker://quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('c')}=docker://${NS}/openshift/release:4.19.3-x86_64-cli`,
        `docker://registry.redhat.io/ubi9/ubi:latest=docker://${NS}/ubi9/ubi:latest`,
        '',
      ].join('\n'),
    );
    expect(renderMissing(entries.slice(0, 1))).toBe(`docker://registry.redhat.io/ubi9/ubi:latest=docker://${NS}/ubi9/ubi:latest\n`);
    expect(renderMapping([])).toBe('');
  });
});
