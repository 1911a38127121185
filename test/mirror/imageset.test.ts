/** The one ImageSetConfiguration reader (`reef mirror`, `reef prestage download --imageset`): what it reads and the fields its errors name. */
import { describe, expect, it } from 'vitest';
import { MirrorInputError } from '../../src/mirror/errors.js';
import { archiveSizeBytes, isBlocked, parseImageSetConfiguration } from '../../src/mirror/imageset.js';

const head = 'kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\n';
const parse = (body: string, opts = {}) => parseImageSetConfiguration(`${head}${body}`, opts);
const errorOf = (body: string, opts = {}): MirrorInputError => {
  try {
    parse(body, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(MirrorInputError);
    return err as MirrorInputError;
  }
  throw new Error('parsed');
};

describe('ImageSetConfiguration', () => {
  it('reads channels, architectures, release, additional and blocked images, and archiveSize', () => {
    const set = parse(`archiveSize: 4
mirror:
  platform:
    architectures: [amd64, arm64, multi]
    channels:
    - name: stable-4.19
      minVersion: 4.19.2
      maxVersion: 4.19.7
    - name: eus-4.18
      type: ocp
      full: true
    - name: candidate-4.20
      minVersion: 4.20.0-rc.1
      shortestPath: true
    release: quay.io/openshift-release-dev/ocp-release:4.19.7-x86_64
  additionalImages:
  - name: registry.redhat.io/ubi9/ubi:latest
  - name: quay.io/acme/tool@sha256:${'a'.repeat(64)}
  blockedImages:
  - name: ^registry\\.redhat\\.io/ubi9/
  - name: .*kube-rbac-proxy.*
`);
    expect(set.channels).toEqual([
      { name: 'stable-4.19', minor: '4.19', minVersion: '4.19.2', maxVersion: '4.19.7', shortestPath: false, full: false, field: 'mirror.platform.channels[0]' },
      { name: 'eus-4.18', minor: '4.18', shortestPath: false, full: true, field: 'mirror.platform.channels[1]' },
      { name: 'candidate-4.20', minor: '4.20', minVersion: '4.20.0-rc.1', shortestPath: true, full: false, field: 'mirror.platform.channels[2]' },
    ]);
    expect(set.architectures).toEqual(['amd64', 'arm64', 'multi']);
    expect(set.release).toMatchObject({ host: 'quay.io', repository: 'openshift-release-dev/ocp-release', tag: '4.19.7-x86_64' });
    expect(set.additionalImages.map((r) => r.text)).toEqual(['registry.redhat.io/ubi9/ubi:latest', `quay.io/acme/tool@sha256:${'a'.repeat(64)}`]);
    expect(set.archiveSize).toBe(4);
    expect(archiveSizeBytes(set.archiveSize)).toBe(4 * 1024 ** 3);
    // blockedImages are regular expressions matched against the source (or the destination), as in oc-mirror v2.
    expect(isBlocked(set.additionalImages[0]!, set.blockedImages)).toBe(true);
    expect(isBlocked(set.additionalImages[1]!, set.blockedImages)).toBe(false);
    expect(isBlocked('quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:1', set.blockedImages, 'reg/ns/openshift/release:4.19.7-x86_64-kube-rbac-proxy')).toBe(true);
  });

  it('defaults to amd64, an archive size of 500 GiB and nothing else', () => {
    const set = parse('mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n');
    expect(set).toMatchObject({ architectures: ['amd64'], archiveSize: 500, graph: false, additionalImages: [], blockedImages: [] });
    expect(set.release).toBeUndefined();
    expect(parse('archiveSize: 0\nmirror: {}\n').archiveSize).toBe(500);
  });

  it('refuses what reef mirror does not do yet, naming the field', () => {
    expect(errorOf('mirror:\n  operators:\n  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n').message).toBe(
      'mirror.operators: operator catalogs are not supported by reef mirror yet',
    );
    expect(errorOf('mirror:\n  helm:\n    repositories:\n    - name: x\n      url: https://x\n').message).toBe('mirror.helm: Helm charts are not supported by reef mirror yet');
    expect(errorOf('mirror:\n  platform:\n    graph: true\n    channels:\n    - name: stable-4.19\n')).toMatchObject({ field: 'mirror.platform.graph', unsupported: 'update graph images' });
    expect(errorOf('mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n      type: okd\n').message).toBe('mirror.platform.channels[0].type: OKD channels are not supported by reef mirror yet');
    expect(errorOf('mirror:\n  platform:\n    kubeVirtContainer: true\n').field).toBe('mirror.platform.kubeVirtContainer');
    expect(errorOf('mirror:\n  platform:\n    platforms:\n    - os: linux\n      architecture: arm64\n').field).toBe('mirror.platform.platforms');
    expect(errorOf('mirror:\n  additionalImages:\n  - name: quay.io/a/b:1\n    targetRepo: c/d\n').field).toBe('mirror.additionalImages[0].targetRepo');
    // Empty sections and false flags are no request at all.
    expect(() => parse('mirror:\n  operators: []\n  helm: {}\n  platform:\n    graph: false\n    kubeVirtContainer: false\n')).not.toThrow();
    // Pre-staging reads graph: true and ignores it.
    expect(parse('mirror:\n  platform:\n    graph: true\n', { graph: 'ignore' }).graph).toBe(true);
  });

  it('names the field of each problem', () => {
    const message = (body: string) => errorOf(body).message;
    expect(message('mirror:\n  platform:\n    channels:\n    - minVersion: 4.19.2\n')).toMatch(/^mirror\.platform\.channels\[0\]\.name: /);
    expect(message('mirror:\n  platform:\n    channels:\n    - name: latest\n')).toMatch(/^mirror\.platform\.channels\[0\]\.name: expected a channel like stable-4\.19/);
    expect(message('mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n    - name: stable-4.19\n')).toBe('mirror.platform.channels[1].name: duplicate channel stable-4.19');
    expect(message('mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n      maxVersion: "4.19"\n')).toBe('mirror.platform.channels[0].maxVersion: expected a version like 4.19.2');
    expect(message('mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n      type: ocd\n')).toMatch(/^mirror\.platform\.channels\[0\]\.type: /);
    expect(message('mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n      minVersion: 4.19.9\n      maxVersion: 4.19.3\n')).toBe('mirror.platform.channels[0].minVersion: 4.19.9 is above maxVersion 4.19.3');
    expect(message('mirror:\n  platform:\n    architectures: [x86_64]\n')).toMatch(/^mirror\.platform\.architectures\[0\]: /);
    expect(message('mirror:\n  platform:\n    release: ocp-release:4.19.7\n')).toBe('mirror.platform.release: "ocp-release:4.19.7" is not a fully qualified image reference (expected host/path[:tag|@digest])');
    expect(message('mirror:\n  additionalImages:\n  - name: ubi8\n')).toMatch(/^mirror\.additionalImages\[0\]\.name: "ubi8" is not a fully qualified image reference/);
    expect(message('mirror:\n  blockedImages:\n  - name: "quay.io/(unclosed"\n')).toMatch(/^mirror\.blockedImages\[0\]\.name: "quay\.io\/\(unclosed" is not a valid regular expression/);
    expect(message('mirror:\n  platfrom: {}\n')).toBe('mirror.platfrom: unknown key');
    expect(message('archiveSize: -1\nmirror: {}\n')).toMatch(/^archiveSize: /);
    expect(errorOf('mirror: [').message).toMatch(/^not YAML: /);
    expect(() => parseImageSetConfiguration('kind: DeleteImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\ndelete: {}\n')).toThrow(/^kind: /);
    expect(() => parseImageSetConfiguration(`${head}`)).toThrow(/^mirror: /);
  });

  it('refuses the seed example as written (graph: true, operators), and reads it without them', () => {
    const seed = `mirror:
  platform:
    channels:
    - name: stable-4.19
      minVersion: 4.19.2    # Pin specific versions
      maxVersion: 4.19.7    # Control scope
    graph: true             # Required for cluster operations
  operators:
  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19
    packages:
    - name: aws-load-balancer-operator
`;
    expect(errorOf(seed).message).toBe('mirror.operators: operator catalogs are not supported by reef mirror yet');
    const without = seed.replace(/ {4}graph: true.*\n/, '').replace(/ {2}operators:[\s\S]*$/, '');
    expect(parse(without).channels[0]).toMatchObject({ name: 'stable-4.19', minVersion: '4.19.2', maxVersion: '4.19.7' });
  });
});
