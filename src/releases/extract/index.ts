/**
 * Release artifact extraction (issue 19 point 5): `oc`, `openshift-install` for linux, mac,
 * mac-arm64, `oc.exe` and `coreos.iso` (plus `openshift-install-linux-<goarch>` and
 * `oc-linux-<goarch>` of the other of amd64/arm64, so a server of that arch can build this
 * release's agent ISOs), read from the component images of a release already in a registry,
 * into `<artifactPath>/<version>/<arch>/` with a `sha256sum.txt` beside them.
 *
 *   extractReleaseArtifacts(o: ExtractOptions): Promise<ExtractResult>
 *
 * - `o.source`: an ImageSource (the registry's `images`, createStoredImageReader, in the server;
 *   imageSourceFromClient(client) over HTTP), `o.repo` + `o.reference`: the release image
 *   (`openshift/release`, `4.21.0-x86_64` or a digest), `o.arch`: `x86_64` | `aarch64` | …
 *   (a multi-arch release gives the arch's entry of its list).
 * - Components named in image-references are read from `o.repo` by digest (the `oc adm release
 *   mirror` layout); `o.locate` says otherwise.
 * - The release pullspec `<o.pullspecRepo>@<digest>` (the list's digest for a multi release), the
 *   version and the platform are stamped into openshift-install, the version into oc, as
 *   `oc adm release extract` does (stamp.ts, tool-table.ts).
 * - Layers gzip, zstd or plain; whiteouts honoured; every blob checked against its digest.
 *   Files go to temp names and are renamed (an identical file already there is kept): two
 *   architectures or versions never share a directory, nothing is written in place.
 * - Returns the artifacts written and those the release lacks (`missing`: e.g. no
 *   installer-artifacts); `onProgress` is told per component and per MiB read; `signal` aborts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { parseSourceRef } from '../../mirror/image-ref.js';
import { fieldError } from '../../core/errors.js';
import { ReleaseSourceError } from '../errors.js';
import { writeArtifactFile, type WrittenFile } from './artifact-file.js';
import type { ImageSource } from './image-source.js';
import { findFilesInLayers } from './layer-files.js';
import { platformImage, readReleaseImage } from './release-image.js';
import type { StampField, StampValues } from './stamp.js';
import { artifactTargets, type ArtifactTarget, type ArtifactType, isReleaseArch, type ReleaseArch } from './tool-table.js';

export { imageSourceFromClient, type ImageSource, type SourceManifest } from './image-source.js';
export { PLACEHOLDERS, type StampField } from './stamp.js';
export { artifactTargets, goArch, isReleaseArch, RELEASE_ARCHES, releaseArchOf, type ArtifactType, type ReleaseArch } from './tool-table.js';

export interface ExtractOptions {
  source: ImageSource;
  repo: string;
  reference: string;
  arch: ReleaseArch;
  /** The root of every version's artifacts (config `artifact_path`). */
  artifactPath: string;
  /** Stamped with `@<digest>` as the release pullspec: `quay.io/openshift-release-dev/ocp-release`, or reef's `<host>/<local_repo>`. */
  pullspecRepo: string;
  /** The directory name; default the release-metadata version (`4.21.0`). */
  version?: string;
  /** The directory under the version; default the arch. A multi release's files go apart (`multi-x86_64`): their installer is stamped with the list's digest. */
  archDir?: string;
  /** Where a component named in image-references (`quay.io/…@sha256:…`) is read; default `{repo: o.repo, digest}`. */
  locate?: (pullspec: string) => { repo: string; digest: string };
  onProgress?: (p: ExtractProgress) => void;
  signal?: AbortSignal;
}

export interface ExtractProgress {
  phase: 'release' | 'component' | 'done';
  component?: string;
  componentsDone: number;
  componentsTotal: number;
  /** Compressed layer bytes read so far. */
  bytesRead: number;
}

export interface ReleaseArtifact {
  name: string;
  type: ArtifactType;
  /** Absolute path of the file. */
  path: string;
  size: number;
  sha256: string;
  os: ArtifactTarget['os'];
  arch: ReleaseArch;
  /** Placeholders stamped into it. */
  stamped: StampField[];
}

export interface ExtractResult {
  version: string;
  arch: ReleaseArch;
  /** The release's digest (a list's for a multi release), as stamped. */
  releaseDigest: string;
  /** `<pullspecRepo>@<releaseDigest>`. */
  pullspec: string;
  /** `<artifactPath>/<version>/<arch>` */
  dir: string;
  artifacts: ReleaseArtifact[];
  /** Targets the release does not have (no such component, or no such file in it). */
  missing: { name: string; component: string; path: string; reason: string }[];
}

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export const extractReleaseArtifacts = async (o: ExtractOptions): Promise<ExtractResult> => {
  try {
    return await extract(o);
  } catch (err) {
    // Aborted: the reason given, whichever layer (HTTP, a stream) noticed first.
    throw o.signal?.aborted ? o.signal.reason : err;
  }
};

const extract = async (o: ExtractOptions): Promise<ExtractResult> => {
  if (!isReleaseArch(o.arch)) throw fieldError('arch', `${JSON.stringify(o.arch)} is not a release architecture (x86_64, aarch64, ppc64le, s390x)`);
  let bytesRead = 0;
  const targets = artifactTargets(o.arch);
  const components = [...new Set(targets.map((t) => t.component))];
  const progress = (phase: ExtractProgress['phase'], done: number, component?: string) =>
    o.onProgress?.({ phase, ...(component ? { component } : {}), componentsDone: done, componentsTotal: components.length, bytesRead });
  progress('release', 0);

  const release = await readReleaseImage(o.source, o.repo, o.reference, o.arch, o.signal);
  const version = o.version ?? release.contents.version;
  if (!SAFE_SEGMENT.test(version) || version.includes('..')) throw fieldError('version', `${JSON.stringify(version)} cannot name a directory`);
  const archDir = o.archDir ?? o.arch;
  if (!SAFE_SEGMENT.test(archDir) || archDir.includes('..')) throw fieldError('archDir', `${JSON.stringify(archDir)} cannot name a directory`);
  const dir = join(o.artifactPath, version, archDir);
  await mkdir(dir, { recursive: true });
  const pullspec = `${o.pullspecRepo}@${release.digest}`;
  const values: Record<StampField, string> = { releaseImage: pullspec, releaseVersion: version, releaseArchitecture: release.platform };
  const locate = o.locate ?? ((spec: string) => ({ repo: o.repo, digest: componentDigest(spec) }));

  const artifacts: ReleaseArtifact[] = [];
  const missing: ExtractResult['missing'] = [];
  let lastReport = 0;
  let done = 0;
  const onBytes = (n: number) => {
    bytesRead += n;
    if (bytesRead - lastReport >= 1024 * 1024) {
      lastReport = bytesRead;
      progress('component', done);
    }
  };
  for (const component of components) {
    o.signal?.throwIfAborted();
    progress('component', done, component);
    const wanted = targets.filter((t) => t.component === component);
    const ref = release.contents.components.find((c) => c.name === component);
    if (!ref) {
      for (const t of wanted) missing.push({ name: t.name, component, path: t.path, reason: `the release has no ${component} component` });
      done++;
      continue;
    }
    const at = locate(ref.image);
    const image = await platformImage(o.source, at.repo, at.digest, o.arch, o.signal);
    const byPath = new Map(wanted.map((t) => [t.path, t]));
    const found = await findFilesInLayers<WrittenFile>({
      layers: image.layers,
      open: (digest) => o.source.openBlob(at.repo, digest, o.signal),
      wanted: wanted.map((t) => t.path),
      capture: (path, bytes) => {
        const t = byPath.get(path)!;
        const stamp: StampValues = Object.fromEntries(t.stamp.map((f) => [f, values[f]]));
        return writeArtifactFile(bytes, join(dir, t.name), { stamp, mode: t.executable ? 0o755 : 0o644 });
      },
      onBytes,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    for (const t of wanted) {
      const file = found.get(t.path);
      if (!file) {
        missing.push({ name: t.name, component, path: t.path, reason: `${component} has no ${t.path}` });
        continue;
      }
      await file.commit();
      artifacts.push({ name: t.name, type: t.type, path: file.final, size: file.size, sha256: file.sha256, os: t.os, arch: t.arch, stamped: file.stamped });
    }
    done++;
  }
  await writeFileAtomic(join(dir, 'sha256sum.txt'), artifacts.map((a) => `${a.sha256}  ${a.name}\n`).join(''));
  progress('done', done);
  return { version, arch: o.arch, releaseDigest: release.digest, pullspec, dir, artifacts, missing };
};

/** The digest of a component pull spec (`quay.io/…/ocp-v4.0-art-dev@sha256:…`). */
const componentDigest = (spec: string): string => {
  const ref = parseSourceRef(spec, 'image-references');
  if (!ref.digest) throw new ReleaseSourceError(`image-references names ${spec} without a digest`);
  return ref.digest;
};
