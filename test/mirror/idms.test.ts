/**
 * IDMS / ITMS as oc-mirror v2 writes them (sigs.k8s.io/yaml output: `---` before each document,
 * keys sorted, lists at their key's indentation, the timestamp quoted), compared byte for byte
 * with YAML written here by hand; in a stable order, unlike oc-mirror's.
 */
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { imageMirrors, type MirroredImage, mirrorScopes, renderIdms, renderItms, yamlScalar } from '../../src/mirror/idms.js';
import { parseSourceRef } from '../../src/mirror/image-ref.js';
import { destinationReference, type MirrorImage } from '../../src/mirror/naming.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const NS = 'registry.example.com:5000/mirror';
const image = (kind: MirrorImage['kind'], source: string, releaseTag?: string, component?: string): MirroredImage => {
  const img = { kind, source: parseSourceRef(source, 'x'), releaseTag, component };
  return { kind, source: img.source, destination: destinationReference(img, NS) };
};

const IMAGES: MirroredImage[] = [
  image('generic', 'registry.redhat.io/ubi9/ubi:latest'),
  image('release-component', `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('c')}`, '4.19.3-x86_64', 'cli'),
  image('release', `quay.io/openshift-release-dev/ocp-release@${D('a')}`, '4.19.3-x86_64'),
  image('generic', `quay.io/acme/tools/debug@${D('d')}`),
  image('release', 'quay.io/openshift-release-dev/ocp-release:4.18.20-x86_64', '4.18.20-x86_64'),
  image('release-component', `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('e')}`, '4.19.3-x86_64', 'installer'),
  image('generic', `ghcr.io/acme/agent:1.2@${D('f')}`),
  image('generic', 'docker.io/busybox:1.36'),
];
const AT = new Date('2025-06-01T12:34:56.789Z');

const IDMS = `---
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  annotations:
    createdAt: "2025-06-01T12:34:56Z"
    createdBy: reef
  name: idms-release-0
spec:
  imageDigestMirrors:
  - mirrors:
    - registry.example.com:5000/mirror/openshift/release-images
    source: quay.io/openshift-release-dev/ocp-release
  - mirrors:
    - registry.example.com:5000/mirror/openshift/release
    source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
---
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  annotations:
    createdAt: "2025-06-01T12:34:56Z"
    createdBy: reef
  name: idms-generic-0
spec:
  imageDigestMirrors:
  - mirrors:
    - registry.example.com:5000/mirror/acme
    source: ghcr.io/acme
  - mirrors:
    - registry.example.com:5000/mirror/acme/tools
    source: quay.io/acme/tools
`;

const ITMS = `---
apiVersion: config.openshift.io/v1
kind: ImageTagMirrorSet
metadata:
  annotations:
    createdAt: "2025-06-01T12:34:56Z"
    createdBy: oc-mirror v2
  name: itms-release-0
spec:
  imageTagMirrors:
  - mirrors:
    - registry.example.com:5000/mirror/openshift/release-images
    source: quay.io/openshift-release-dev/ocp-release
---
apiVersion: config.openshift.io/v1
kind: ImageTagMirrorSet
metadata:
  annotations:
    createdAt: "2025-06-01T12:34:56Z"
    createdBy: oc-mirror v2
  name: itms-generic-0
spec:
  imageTagMirrors:
  - mirrors:
    - registry.example.com:5000/mirror
    source: docker.io
  - mirrors:
    - registry.example.com:5000/mirror/acme
    source: ghcr.io/acme
  - mirrors:
    - registry.example.com:5000/mirror/ubi9
    source: registry.redhat.io/ubi9
`;

describe('IDMS / ITMS', () => {
  it('writes digest-referenced images (and every release image) to the IDMS, tag-referenced ones to the ITMS, one document per category', () => {
    expect(renderIdms(IMAGES, { createdAt: AT })).toBe(IDMS);
    expect(renderItms(IMAGES, { createdAt: AT, createdBy: 'oc-mirror v2' })).toBe(ITMS);
    // What a cluster reads back.
    const docs = yaml.loadAll(IDMS) as { metadata: { name: string; annotations: Record<string, string> }; spec: { imageDigestMirrors: unknown[] } }[];
    expect(docs.map((d) => d.metadata.name)).toEqual(['idms-release-0', 'idms-generic-0']);
    expect(docs[0]!.metadata.annotations.createdAt).toBe('2025-06-01T12:34:56Z');
  });

  it('gives the same bytes whatever the order of the images', () => {
    for (let i = 0; i < 5; i++) {
      const shuffled = [...IMAGES].sort(() => Math.random() - 0.5);
      expect(renderIdms(shuffled, { createdAt: AT })).toBe(IDMS);
    }
  });

  it('writes nothing when there is nothing of a kind, and scopes to repositories when asked', () => {
    expect(renderIdms([image('generic', 'quay.io/acme/tool:1')], { createdAt: AT })).toBe('');
    expect(renderItms([image('release-component', `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('c')}`, '4.19.3-x86_64', 'cli')], { createdAt: AT })).toBe('');
    expect(imageMirrors([image('generic', 'quay.io/acme/tool:1')], 'tag', true)).toEqual([{ category: 'generic', entries: [{ source: 'quay.io/acme/tool', mirrors: [`${NS}/acme/tool`] }] }]);
  });

  it('scopes to namespaces only when the destination path ends with the whole source path', () => {
    expect(mirrorScopes('quay.io/acme/tool:1', `${NS}/acme/tool:1`)).toEqual({ source: 'quay.io/acme', mirror: `${NS}/acme` });
    expect(mirrorScopes('quay.io/cme/tool:1', `${NS}/acme/tool:1`)).toEqual({ source: 'quay.io/cme/tool', mirror: `${NS}/acme/tool` });
    expect(mirrorScopes(`quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D('c')}`, `${NS}/openshift/release:4.19.3-x86_64-cli`)).toEqual({
      source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
      mirror: `${NS}/openshift/release`,
    });
  });

  it('quotes a scalar only when YAML would read it as something else', () => {
    expect(['registry.example.com:5000/a', 'oc-mirror v2', 'reef'].map(yamlScalar)).toEqual(['registry.example.com:5000/a', 'oc-mirror v2', 'reef']);
    expect(['2025-06-01T12:34:56Z', 'yes', '4.19', '', 'a: b', '-x'].map(yamlScalar)).toEqual(['"2025-06-01T12:34:56Z"', '"yes"', '"4.19"', '""', '"a: b"', '"-x"']);
  });
});
