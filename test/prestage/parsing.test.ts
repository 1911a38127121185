/** Pre-staging input parsing: sizes, image lists, ImageSetConfiguration, names, partition nodes. */
import { describe, expect, it } from 'vitest';
import { archiveLevel, blobFileName } from '../../src/ignition/prestage/image-archive.js';
import { imageDirName, parseImageList, parseSourceRef } from '../../src/ignition/prestage/image-ref.js';
import { compareVersions, isBlocked, parseImageSet } from '../../src/ignition/prestage/imageset.js';
import { checkPartitionOptions, partitionNode, usableBytes } from '../../src/ignition/prestage/partition.js';
import { parseReleaseFiles, releaseTag } from '../../src/ignition/prestage/release.js';
import { parseSize, sgdiskSize } from '../../src/ignition/prestage/sizes.js';

const GiB = 2 ** 30;

describe('sizes', () => {
  it('reads binary units with or without B/iB', () => {
    expect(parseSize('100G', '--size')).toBe(100 * GiB);
    expect(parseSize('100GiB', '--size')).toBe(100 * GiB);
    expect(parseSize('100gb', '--size')).toBe(100 * GiB);
    expect(parseSize('512M', '--size')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5T', '--size')).toBe(1.5 * 2 ** 40);
    expect(parseSize('4096', '--size')).toBe(4096);
  });
  it('names the flag in errors', () => {
    expect(() => parseSize('100X', '--size')).toThrow('--size: "100X" is not a size');
    expect(() => parseSize('', '--size')).toThrow(/^--size: /);
    expect(() => parseSize('0G', '--size')).toThrow('--size: "0G" must be more than 0 bytes');
    expect(() => parseSize('-5G', '--size')).toThrow(/--size/);
  });
  it('writes sizes the way sgdisk reads them', () => {
    expect(sgdiskSize(100 * GiB)).toBe('100G');
    expect(sgdiskSize(1536 * 2 ** 20)).toBe('1536M');
    expect(sgdiskSize(2 * 2 ** 40)).toBe('2T');
    expect(() => sgdiskSize(1000)).toThrow(/--size/);
  });
});

describe('partition naming and limits', () => {
  it('uses <dev>p<N> for disks whose name ends in a digit', () => {
    expect(partitionNode('/dev/nvme0n1', 1)).toBe('/dev/nvme0n1p1');
    expect(partitionNode('/dev/loop0', 1)).toBe('/dev/loop0p1');
    expect(partitionNode('/dev/mmcblk0', 2)).toBe('/dev/mmcblk0p2');
    expect(partitionNode('/dev/sdb', 1)).toBe('/dev/sdb1');
    expect(partitionNode('/dev/vda', 3)).toBe('/dev/vda3');
  });
  it('leaves room for the alignment and the backup GPT', () => {
    expect(usableBytes(400 * GiB, 512)).toBe(400 * GiB - 2 ** 20 * 2);
    expect(usableBytes(400 * GiB, 4096)).toBe(400 * GiB - 2 ** 20 * 2);
  });
  it('checks label, filesystem, device and minimum size, naming the flag', () => {
    const ok = { device: '/dev/sdb', size: 100 * GiB };
    expect(checkPartitionOptions(ok)).toMatchObject({ label: 'data', fs: 'xfs', force: false });
    expect(() => checkPartitionOptions({ ...ok, label: 'thirteen-char' })).toThrow('--label: "thirteen-char" is longer than the 12 characters a xfs label can hold');
    expect(checkPartitionOptions({ ...ok, label: 'thirteen-char', fs: 'ext4' }).label).toBe('thirteen-char');
    expect(() => checkPartitionOptions({ ...ok, label: 'a b' })).toThrow(/^--label: /);
    expect(() => checkPartitionOptions({ ...ok, fs: 'btrfs' as 'xfs' })).toThrow('--fs: "btrfs" is not supported (xfs or ext4)');
    expect(() => checkPartitionOptions({ ...ok, device: 'sdb' })).toThrow('--device: "sdb" is not a device under /dev');
    expect(() => checkPartitionOptions({ ...ok, size: 100 * 2 ** 20 })).toThrow('--size: 100.0 MiB is too small for xfs (at least 300.0 MiB)');
  });
});

describe('image lists', () => {
  it('takes one reference per line, skipping comments, blanks and duplicates', () => {
    const refs = parseImageList(
      [
        '# discovery images',
        'quay.io/edge-infrastructure/assisted-installer-agent:latest',
        '',
        '   quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:' + 'a'.repeat(64) + '   # pinned',
        'quay.io/edge-infrastructure/assisted-installer-agent:latest',
        'registry.example.com:5000/ns/sub/img',
      ].join('\r\n'),
      '--ai-images',
    );
    expect(refs.map((r) => r.text)).toEqual([
      'quay.io/edge-infrastructure/assisted-installer-agent:latest',
      `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'a'.repeat(64)}`,
      'registry.example.com:5000/ns/sub/img',
    ]);
    expect(refs[1]).toMatchObject({ host: 'quay.io', repository: 'openshift-release-dev/ocp-v4.0-art-dev', digest: `sha256:${'a'.repeat(64)}` });
    expect(refs[2]).toMatchObject({ host: 'registry.example.com:5000', repository: 'ns/sub/img' });
    expect(refs[2]!.tag).toBeUndefined();
  });
  it('names the flag and line of a bad reference', () => {
    expect(() => parseImageList('quay.io/a/b:1\n\nubuntu:22.04\n', '--ai-images')).toThrow('--ai-images line 3: "ubuntu:22.04" is not a fully qualified image reference');
    expect(() => parseImageList('library/ubuntu:22.04', '--ocp-images')).toThrow('--ocp-images line 1: "library/ubuntu:22.04" does not start with a registry host');
    expect(() => parseImageList('quay.io/a/b@sha256:abc', '--ocp-images')).toThrow('--ocp-images line 1: "quay.io/a/b@sha256:abc" has a malformed digest');
    expect(() => parseImageList('quay.io/A/b:1', '--ocp-images')).toThrow(/line 1: .* invalid repository path/);
  });
  it('keeps tag and digest when both are given', () => {
    const r = parseSourceRef(`quay.io/a/b:v1@sha256:${'b'.repeat(64)}`, 'x');
    expect(r).toMatchObject({ repository: 'a/b', tag: 'v1', digest: `sha256:${'b'.repeat(64)}` });
  });
  it('names archives after the last path segment with the first colon replaced', () => {
    expect(imageDirName(`quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'c'.repeat(64)}`)).toBe(`ocp-v4.0-art-dev@sha256_${'c'.repeat(64)}`);
    expect(imageDirName('quay.io/alosadag/troubleshoot:latest')).toBe('troubleshoot_latest');
    expect(imageDirName('registry.example.com:5000/ns/img')).toBe('img');
  });
});

describe('ImageSetConfiguration', () => {
  const base = `kind: ImageSetConfiguration
apiVersion: mirror.openshift.io/v2alpha1
`;
  it('reads platform channels, additionalImages and blockedImages', () => {
    const set = parseImageSet(`${base}mirror:
  platform:
    channels:
    - name: stable-4.19
      minVersion: 4.19.2
      maxVersion: 4.19.7
    - name: eus-4.18
      full: true
    graph: true
  additionalImages:
  - name: quay.io/edge-infrastructure/assisted-installer-agent:latest
  - name: registry.redhat.io/rhel9/support-tools@sha256:${'d'.repeat(64)}
  blockedImages:
  - name: quay.io/edge-infrastructure/assisted-installer-agent
`);
    expect(set.channels).toEqual([
      { name: 'stable-4.19', minor: '4.19', minVersion: '4.19.2', maxVersion: '4.19.7', full: false, field: 'mirror.platform.channels[0]' },
      { name: 'eus-4.18', minor: '4.18', minVersion: undefined, maxVersion: undefined, full: true, field: 'mirror.platform.channels[1]' },
    ]);
    expect(set.additionalImages.map((r) => r.text)).toEqual(['quay.io/edge-infrastructure/assisted-installer-agent:latest', `registry.redhat.io/rhel9/support-tools@sha256:${'d'.repeat(64)}`]);
    expect(set.architectures).toEqual(['amd64']);
    expect(isBlocked(set.additionalImages[0]!, set.blockedImages)).toBe(true);
    expect(isBlocked(set.additionalImages[1]!, set.blockedImages)).toBe(false);
  });
  it('names the field of each problem', () => {
    const bad = (yaml: string) => () => parseImageSet(yaml);
    expect(bad('kind: ImageSetConfiguration\napiVersion: v1\nmirror: {}\n')).toThrow(/^--imageset apiVersion: /);
    expect(bad(`${base}mirror:\n  platform:\n    channels:\n    - minVersion: 4.19.2\n`)).toThrow(/^--imageset mirror\.platform\.channels\[0\]\.name: /);
    expect(bad(`${base}mirror:\n  platform:\n    channels:\n    - name: latest\n`)).toThrow(/^--imageset mirror\.platform\.channels\[0\]\.name: expected a channel like stable-4\.19/);
    expect(bad(`${base}mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n      maxVersion: 4.18.3\n`)).toThrow('--imageset mirror.platform.channels[0].maxVersion: 4.18.3 is not in channel stable-4.19');
    expect(bad(`${base}mirror:\n  platform:\n    channels:\n    - name: stable-4.19\n      minVersion: 4.19.9\n      maxVersion: 4.19.3\n`)).toThrow('--imageset mirror.platform.channels[0].minVersion: 4.19.9 is above maxVersion 4.19.3');
    expect(bad(`${base}mirror:\n  additionalImages:\n  - name: ubi8\n`)).toThrow('--imageset mirror.additionalImages[0].name: "ubi8" is not a fully qualified image reference');
    expect(bad(`${base}mirror:\n  additionalImages:\n  - image: quay.io/a/b:1\n`)).toThrow(/^--imageset mirror\.additionalImages\[0\]\.(name|image): /);
    expect(bad(`${base}mirror:\n  platfrom: {}\n`)).toThrow('--imageset mirror.platfrom: unknown key');
    expect(bad(`${base}mirror:\n  operators:\n  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n`)).toThrow(/^--imageset mirror\.operators: .*not supported by reef prestage download \(operator catalogs\)/);
    expect(bad(`${base}mirror:\n  helm:\n    repositories:\n    - name: x\n`)).toThrow(/^--imageset mirror\.helm: .*not supported/);
    expect(bad('mirror: [')).toThrow(/^--imageset: not YAML/);
  });
  it('compares versions numerically', () => {
    expect(compareVersions('4.19.10', '4.19.9')).toBeGreaterThan(0);
    expect(compareVersions('4.9.0', '4.19.0')).toBeLessThan(0);
    expect(compareVersions('4.19.2', '4.19.2')).toBe(0);
  });
});

describe('release payload files', () => {
  const refs = (tags: unknown) => Buffer.from(JSON.stringify({ kind: 'ImageStream', apiVersion: 'image.openshift.io/v1', spec: { tags } }));
  it('reads components from image-references and the version from release-metadata', () => {
    const p = parseReleaseFiles(
      refs([{ name: 'cli', from: { kind: 'DockerImage', name: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:' + 'e'.repeat(64) } }]),
      Buffer.from(JSON.stringify({ kind: 'cincinnati-metadata-v0', version: '4.19.7', previous: [], next: [], metadata: {} })),
    );
    expect(p).toEqual({ version: '4.19.7', components: [{ name: 'cli', image: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'e'.repeat(64)}` }] });
  });
  it('names the bad field', () => {
    expect(() => parseReleaseFiles(refs([{ name: 'cli', from: { kind: 'ImageStreamTag', name: 'x' } }]), undefined)).toThrow(/^release-manifests\/image-references spec\.tags\[0\]\.from\.kind: /);
    expect(() => parseReleaseFiles(Buffer.from('{nope'), undefined)).toThrow(/^release-manifests\/image-references: is not JSON/);
    expect(() => parseReleaseFiles(refs([{ name: 'cli', from: { kind: 'DockerImage', name: 'q.io/a@sha256:1' } }]), Buffer.from('{"kind":"x"}'))).toThrow(/^release-manifests\/release-metadata kind: /);
  });
  it('adds the architecture to a bare version', () => {
    expect(releaseTag('4.19.7')).toBe('4.19.7-x86_64');
    expect(releaseTag('4.19.7', 'aarch64')).toBe('4.19.7-aarch64');
    expect(releaseTag('4.19.7-x86_64')).toBe('4.19.7-x86_64');
  });
});

describe('archives', () => {
  const cfg = { digest: `sha256:${'0'.repeat(64)}`, size: 2, mediaType: 'application/vnd.oci.image.config.v1+json' };
  const layer = (mediaType: string) => ({ digest: `sha256:${'1'.repeat(64)}`, size: 9, mediaType });
  it('stores images whose layers are compressed already and gzips the others at level 6', () => {
    expect(archiveLevel('auto', [cfg, layer('application/vnd.oci.image.layer.v1.tar+gzip'), layer('application/vnd.docker.image.rootfs.diff.tar.gzip')])).toBe(0);
    expect(archiveLevel('auto', [cfg, layer('application/vnd.oci.image.layer.v1.tar+zstd')])).toBe(0);
    expect(archiveLevel('auto', [cfg, layer('application/vnd.oci.image.layer.v1.tar+gzip'), layer('application/vnd.oci.image.layer.v1.tar')])).toBe(6);
    expect(archiveLevel(9, [cfg, layer('application/vnd.oci.image.layer.v1.tar+gzip')])).toBe(9);
  });
  it('names blobs as the dir: transport does', () => {
    expect(blobFileName(`sha256:${'a'.repeat(64)}`)).toBe('a'.repeat(64));
    expect(blobFileName(`sha512:${'b'.repeat(128)}`)).toBe(`sha512-${'b'.repeat(128)}`);
  });
});
