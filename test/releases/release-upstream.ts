/**
 * The upstream of the release tests: Debian's docker-registry behind a token front (as quay.io
 * presents itself: Bearer tokens for a good pull secret only), holding synthetic releases
 * (test/fixtures/synthetic-release.ts) pushed at `openshift-release-dev/ocp-release:<version>-<arch>`
 * whose image-references name the front; plus the pull secret and the REEF_CONFIG file a reef
 * needs to clone from it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { pushImage, pushSyntheticRelease, randomLayers, type SyntheticRelease } from '../fixtures/synthetic-release.js';
import { type Distribution, startDistribution } from '../registry/helpers/distribution.js';
import { startTokenFront, type TokenFront } from '../registry/helpers/token-front.js';

export const RELEASE_REPO = 'openshift-release-dev/ocp-release';
export const PULL_USER = 'release-puller';
export const PULL_PASSWORD = 'pull-s3cret';

export interface ReleaseUpstream {
  dir: string;
  distribution: Distribution;
  front: TokenFront;
  pullSecret: string;
  push(version: string, arch: string, components: number, imageBytes: number): Promise<SyntheticRelease>;
  /** A REEF_CONFIG file with a `releases:` section pointing at this upstream (clones stop at cloned unless `auto_extract: true`). */
  configFile(extra?: Record<string, unknown>): string;
  /** Blob GETs the upstream answered (200/206), by digest, from request index `from` on. */
  blobGets(from?: number): Map<string, number>;
  stop(): Promise<void>;
}

export const startReleaseUpstream = async (): Promise<ReleaseUpstream> => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-releases-'));
  const distribution = await startDistribution();
  const front = await startTokenFront({ upstream: distribution.url, users: { [PULL_USER]: PULL_PASSWORD }, tokenLifeMs: 60_000 });
  const pullSecret = join(dir, 'pull-secret.json');
  writeFileSync(pullSecret, JSON.stringify({ auths: { [front.host]: { auth: Buffer.from(`${PULL_USER}:${PULL_PASSWORD}`).toString('base64'), email: 'ops@example.com' } } }));
  // A tag that is no release, which discovery must leave out.
  await pushImage(createOciClient({ registry: distribution.host, plainHttp: true }), RELEASE_REPO, 'latest', randomLayers('latest', 1024, 1), 'amd64');
  let n = 0;
  return {
    dir,
    distribution,
    front,
    pullSecret,
    push: (version, arch, components, imageBytes) =>
      pushSyntheticRelease({ registry: distribution.host, plainHttp: true, version, arch, components, imageBytes, listEvery: 4, sourceHost: front.host, releaseRepo: RELEASE_REPO }),
    configFile(extra = {}) {
      const file = join(dir, `reef-${++n}.yaml`);
      const releases = { enabled: true, pull_secret: pullSecret, upstream: front.host, repository: RELEASE_REPO, local_repo: 'openshift/release', architectures: ['x86_64', 'aarch64'], auto_discover: false, auto_extract: false, ...extra };
      writeFileSync(file, `releases:\n${Object.entries(releases).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}\n`);
      return file;
    },
    blobGets(from = 0) {
      const gets = new Map<string, number>();
      for (const r of front.requests.slice(from)) {
        const m = /\/blobs\/(sha256:[0-9a-f]{64})/.exec(r.path);
        if (m && r.method === 'GET' && (r.status === 200 || r.status === 206)) gets.set(m[1]!, (gets.get(m[1]!) ?? 0) + 1);
      }
      return gets;
    },
    async stop() {
      await front.close();
      await distribution.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Polls `read` until `done` says so (a test's own deadline bounds it). */
export const until = async <T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, limitMs = 120_000): Promise<T> => {
  const started = Date.now();
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() - started > limitMs) throw new Error(`${what}: not reached; last ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
