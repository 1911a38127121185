import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError, conflict, fieldError } from '../core/errors.js';
import type { ReleasesConfig } from './release-config.js';
import type { ReleaseService } from './release-service.js';
import type { ReleaseStore } from './release-store.js';
import type { AgentIsoInput, ReleasePorts } from './ports.js';
import type { Release } from './release.js';

/**
 * The release's files: extraction (cloned → extracting → ready), agent ISOs, copies elsewhere,
 * and where `/files` finds them. The work itself is behind the ports (ports.ts); without one,
 * the route answers 501 saying what this reef lacks.
 */
export interface ReleaseArtifactsDeps {
  config: ReleasesConfig;
  store: ReleaseStore;
  releases: ReleaseService;
  ports: ReleasePorts;
  /** `host:port` of reef's registry as the artifacts and installers name it. */
  registryHost: string;
  publicUrl: string;
}

const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const lacking = (what: string) => new DomainError('NOT_IMPLEMENTED', `${what} is not available in this reef build`);

export const createReleaseArtifacts = (d: ReleaseArtifactsDeps) => {
  const { config, store, releases } = d;
  const pullSpec = (r: Release) => `${d.registryHost}/${config.local_repo}@${r.upstreamDigest ?? ''}`;

  const runExtract = async (tag: string, signal: AbortSignal) => {
    const extractor = d.ports.extractor;
    if (!extractor) return;
    const r = store.get(tag)!;
    try {
      releases.event('extract_start', 'info', tag);
      const { artifacts, missing } = await extractor.extract({ release: r, localRepo: config.local_repo, pullSpec: pullSpec(r), signal });
      if (!artifacts.length) throw new Error(`the release holds none of its tools (${missing.slice(0, 4).map((m) => m.reason).join('; ')})`);
      store.update(tag, { artifacts, state: 'ready', error: null });
      releases.event('ready', 'success', tag, { artifacts: artifacts.map((a) => a.name), ...(missing.length ? { missing } : {}) });
    } catch (err) {
      if (signal.aborted) return;
      const message = (err as Error).message;
      store.update(tag, { state: 'failed', error: `extract: ${message}` });
      releases.event('failed', 'error', tag, { error: `extract: ${message}` });
    }
  };

  /** Starts the extraction of one cloned release (its job: cancelled by reset). */
  const startExtract = (r: Release) => {
    if (!d.ports.extractor) throw lacking('artifact extraction');
    if (r.clonedAt === null || !['cloned', 'ready', 'failed', 'extracting'].includes(r.state)) throw conflict(`release ${r.tag} is ${r.state}: clone it first`);
    const job = releases.jobs.get(r.tag);
    if (job) throw conflict(`release ${r.tag} is busy (${job.kind} running)`);
    store.update(r.tag, { state: 'extracting', error: null });
    releases.jobs.start(r.tag, 'extract', (signal) => runExtract(r.tag, signal));
  };

  /** `{version}`, `{versions}` or `{all: true}`: each started or named with its reason. */
  const extract = (body: { version?: string; versions?: string[]; all?: boolean }) => {
    if (!d.ports.extractor) throw lacking('artifact extraction');
    const names = body.all ? store.list().filter((r) => r.clonedAt !== null).map((r) => r.tag) : [...(body.version ? [body.version] : []), ...(body.versions ?? [])];
    if (!names.length) throw fieldError('version', 'name a version, a list in versions, or all: true');
    const started: string[] = [];
    const errors: string[] = [];
    for (const name of names) {
      try {
        startExtract(releases.get(name));
        started.push(releases.tagOf(name));
      } catch (err) {
        errors.push(`${name}: ${(err as Error).message}`);
      }
    }
    return { message: `extraction started for ${started.length} release(s)`, started, errors };
  };

  const createIso = async (name: string, input: AgentIsoInput) => {
    const builder = d.ports.isoBuilder;
    if (!builder) throw lacking('agent ISO generation');
    const r = releases.get(name);
    if (r.state !== 'ready') throw conflict(`release ${r.tag} is ${r.state}: its artifacts must be extracted (ready) first`);
    const id = randomUUID();
    const dir = join(config.installsPath, id);
    const workDir = join(dir, 'work');
    await mkdir(workDir, { recursive: true });
    try {
      await builder.build({ release: r, input, output: join(dir, 'agent.iso'), workDir, registry: d.registryHost, pullSpec: pullSpec(r), signal: AbortSignal.timeout(30 * 60_000) });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    await writeFile(join(dir, ISO_RELEASE_FILE), r.tag);
    releases.event('iso.created', 'success', r.tag, { iso: isoRef(id) });
    const iso_url = `/files/installs/${id}/agent.iso`;
    return { id, iso_url, full_url: `${d.publicUrl}${iso_url}` };
  };

  const artifact = (r: Release, artifactName: string) => {
    const a = ARTIFACT_NAME.test(artifactName) ? r.artifacts.find((x) => x.name === artifactName) : undefined;
    if (!a) throw new DomainError('NOT_FOUND', `release ${r.tag} has no artifact ${JSON.stringify(artifactName)}`);
    return a;
  };

  const copy = (name: string, body: { artifact: string; destination: string }) => {
    const copier = d.ports.copier;
    if (!copier) throw lacking('artifact copy');
    const r = releases.get(name);
    const a = artifact(r, body.artifact);
    copier.check(body.destination);
    const key = `${r.tag} copy ${a.name} ${body.destination}`;
    if (releases.jobs.get(key)) throw conflict(`${a.name} is already being copied to ${body.destination}`);
    releases.jobs.start(key, 'copy', async (signal) => {
      let bytes = 0;
      try {
        await copier.copy({ file: a.path, destination: body.destination, signal, onProgress: (done) => (bytes = done) });
        releases.event('copy', 'success', r.tag, { artifact: a.name, destination: body.destination, bytes });
      } catch (err) {
        releases.event('copy', 'error', r.tag, { artifact: a.name, destination: body.destination, bytes, error: (err as Error).message });
      }
    });
    return { message: 'copy started', artifact: a.name, destination: body.destination };
  };

  return {
    extract,
    extractOne: (name: string) => {
      const r = releases.get(name);
      startExtract(r);
      return { message: 'extraction started', version: r.tag };
    },
    /** The start of `ready`: a verified clone goes on to extraction in the same job. */
    afterClone: (r: Release, signal: AbortSignal) => runExtract(r.tag, signal),
    createIso,
    copy,
    artifacts: (name: string) => {
      const r = releases.get(name);
      return r.artifacts.map((a) => ({ name: a.name, type: a.type, size: a.size, sha256: a.sha256, download_url: `/files/releases/${r.architecture === config.architectures[0] ? r.version : r.tag}/${a.name}` }));
    },
    /** The file of `/files/releases/<version>/<artifact>`: a bare version is the default architecture's. */
    artifactFile: (version: string, artifactName: string) => {
      const r = releases.get(version);
      return { release: r, path: artifact(r, artifactName).path };
    },
    /** Where iPXE fetches agent ISO `id` (under `base`), or undefined when `id` names none. */
    agentIsoUrl: (id: string, base: string): string | undefined =>
      UUID.test(id) && existsSync(join(config.installsPath, id, 'agent.iso')) ? `${base}/files/installs/${id}/agent.iso` : undefined,
    /** The agent ISOs made from a release, newest first (for operators: the ids are capability URLs). */
    agentIsos: (name: string, limit = 20): { id: string; time: number }[] => {
      const tag = releases.tagOf(name);
      const ids = existsSync(config.installsPath) ? readdirSync(config.installsPath) : [];
      const out: { id: string; time: number }[] = [];
      // A directory per ISO made (a few dozen at most): read synchronously for the page that lists them.
      for (const id of ids.filter((n) => UUID.test(n))) {
        const dir = join(config.installsPath, id);
        const made = existsSync(join(dir, ISO_RELEASE_FILE)) ? readFileSync(join(dir, ISO_RELEASE_FILE), 'utf8') : undefined;
        const iso = statSync(join(dir, 'agent.iso'), { throwIfNoEntry: false });
        if (made === tag && iso) out.push({ id, time: iso.mtimeMs });
      }
      return out.sort((a, b) => b.time - a.time).slice(0, limit);
    },
    installIso: (id: string) => {
      if (!UUID.test(id)) throw new DomainError('NOT_FOUND', `no agent ISO ${JSON.stringify(id)}`);
      return join(config.installsPath, id, 'agent.iso');
    },
  };
};
export type ReleaseArtifacts = ReturnType<typeof createReleaseArtifacts>;

/**
 * How events and download records name an agent ISO: a fingerprint of its id, never the id. The
 * id is the ISO's capability URL (it holds the install's pull secret and signer keys), so it is
 * told only to the operator who made it and listed only to operators (`agentIsos`).
 */
export const isoRef = (id: string): string => createHash('sha256').update(id).digest('hex').slice(0, 12);
/** The file beside an agent ISO naming the release it was made from. */
const ISO_RELEASE_FILE = 'release';
