import { link, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { DomainError } from '../core/errors.js';
import { buildAgentImage, embedRawIgnition } from './agent-iso/index.js';
import { extractReleaseArtifacts, type ImageSource, isReleaseArch, type ReleaseArch } from './extract/index.js';
import { copyArtifact, parseDestination } from './copy/index.js';
import { fieldError } from '../core/errors.js';
import type { AgentIsoBuilder, ArtifactCopier, ArtifactExtractor, ReleasePorts } from './ports.js';
import type { ReleasesConfig } from './release-config.js';
import type { Release } from './release.js';

/**
 * The ports of ports.ts filled with the artifact pieces: extraction from the component layers
 * (extract/), agent ISOs (agent-iso/). A `-multi` release gives the artifacts of the first
 * configured single architecture (its list entry); each architecture's files live in their own
 * `<artifact_path>/<version>/<arch>/` (a multi release's in `multi-<arch>/`), so two releases never overwrite each other.
 */
export interface ReleasePortsDeps {
  config: ReleasesConfig;
  /** reef's registry read in process (the embedded registry's `images`). */
  images: ImageSource;
  /** reef's registry as nodes reach it (`host:port`), for the installer's image digest sources. */
  registryHost: string;
  /** PEM of reef's CA when its registry speaks TLS with it. */
  caBundle?: () => string | undefined;
  /** The pull secret for reef's registry an install uses when install_config has none (anonymous pulls allowed). */
  pullSecret?: string;
}

/** The architecture whose files a release gives. */
export const artifactArch = (r: Release, config: ReleasesConfig): ReleaseArch => {
  const arch = r.architecture === 'multi' ? config.architectures.find((a) => a !== 'multi') : r.architecture;
  if (!arch || !isReleaseArch(arch)) throw new DomainError('CONFLICT', `release ${r.tag}: no single architecture configured to extract a multi release for`);
  return arch;
};

/** `<arch>`, or `multi-<arch>` for a multi release: the same version's single-arch files are stamped with another digest. */
const archDirOf = (r: Release, config: ReleasesConfig): string => (r.architecture === 'multi' ? `multi-${artifactArch(r, config)}` : artifactArch(r, config));

export const artifactsDirOf = (r: Release, config: ReleasesConfig) => join(config.artifactPath, r.version, archDirOf(r, config));

export const createReleasePorts = (d: ReleasePortsDeps): ReleasePorts => {
  const extractor: ArtifactExtractor = {
    async extract(req) {
      const result = await extractReleaseArtifacts({
        source: d.images,
        repo: req.localRepo,
        reference: req.release.tag,
        arch: artifactArch(req.release, d.config),
        archDir: archDirOf(req.release, d.config),
        artifactPath: d.config.artifactPath,
        pullspecRepo: `${d.registryHost}/${req.localRepo}`,
        version: req.release.version,
        signal: req.signal,
      });
      return {
        artifacts: result.artifacts.map((a) => ({ name: a.name, type: a.type, path: a.path, size: a.size, sha256: a.sha256 })),
        missing: result.missing.map((m) => ({ name: m.name, reason: m.reason })),
      };
    },
  };
  const isoBuilder: AgentIsoBuilder = {
    async build(req) {
      const artifactsDir = artifactsDirOf(req.release, d.config);
      if ('ignition' in req.input) {
        await embedRawIgnition({ baseIso: join(artifactsDir, 'coreos.iso'), ignition: req.input.ignition, output: req.output });
        return;
      }
      const ca = d.caBundle?.();
      const built = await buildAgentImage({
        version: req.release.version,
        arch: artifactArch(req.release, d.config),
        artifactsDir,
        cacheDir: join(d.config.installsPath, 'cache'),
        body: req.input,
        mirror: { registry: d.registryHost, localRepo: d.config.local_repo, ...(ca ? { caBundle: ca } : {}), ...(d.pullSecret ? { pullSecret: d.pullSecret } : {}) },
        signal: req.signal,
      });
      // The cache keeps the ISO by its inputs; this install's UUID names a link to it.
      await rm(req.output, { force: true });
      await link(built.iso, req.output);
    },
  };
  const { dirs, ssh } = d.config.copy;
  const copier: ArtifactCopier = {
    check(destination) {
      const to = parseDestination(destination);
      if (to.kind === 'remote' && !ssh) throw fieldError('destination', 'copies over scp need releases.ssh_known_hosts in the REEF_CONFIG file (host keys are always checked)');
      if (to.kind === 'local' && !dirs.some((dir) => resolve(to.path) === dir || resolve(to.path).startsWith(`${dir}${sep}`))) {
        throw fieldError('destination', `${to.path} is not under a directory copies may write to (releases.copy_dirs: ${dirs.join(', ') || 'none'})`);
      }
    },
    async copy(req) {
      await copyArtifact({ file: req.file, destination: req.destination, allowedBases: dirs, ...(ssh ? { ssh } : {}), signal: req.signal, ...(req.onProgress ? { onProgress: req.onProgress } : {}) });
    },
  };
  return { extractor, isoBuilder, copier };
};
