/**
 * reef mirror to disk as an operator runs it: a dry run, a run killed with SIGKILL three times
 * and completed, the archives served by Debian's docker-registry as its storage root, and an
 * incremental second run. The upstream is docker-registry behind a token front.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { pushImage, randomLayers } from '../fixtures/synthetic-release.js';
import { reefResult, runReef } from '../helpers/process.js';
import { requireTool } from '../helpers/tools.js';
import { type Distribution, DISTRIBUTION_BIN, startDistribution } from '../registry/helpers/distribution.js';
import { startTokenFront, type TokenFront } from '../registry/helpers/token-front.js';

const ok = requireTool(DISTRIBUTION_BIN) && requireTool('skopeo') && requireTool('tar');

describe.runIf(ok)('reef mirror to disk: dry run, SIGKILL x3 then resume, the archive served by docker-registry, incremental', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-m2d-'));
  let upstream: Distribution;
  let front: TokenFront;
  const pushed: { repo: string; digest: string; blobs: string[] }[] = [];
  let authfile: string;
  const isc = (names: string[]) => {
    const file = join(dir, `isc-${names.length}-${Math.random().toString(36).slice(2, 6)}.yaml`);
    writeFileSync(file, ['kind: ImageSetConfiguration', 'apiVersion: mirror.openshift.io/v2alpha1', 'mirror:', '  additionalImages:', ...names.map((n) => `  - name: ${front.host}/${n}`), ''].join('\n'));
    return file;
  };
  const env = () => ({ XDG_RUNTIME_DIR: join(dir, 'none') });

  beforeAll(async () => {
    upstream = await startDistribution();
    front = await startTokenFront({ upstream: upstream.url, users: { m: 'pw' }, tokenLifeMs: 5000 });
    const client = createOciClient({ registry: upstream.host, plainHttp: true });
    for (let i = 0; i < 7; i++) {
      const repo = `acme/app-${i}`;
      const img = await pushImage(client, repo, '1', randomLayers(repo, 24 * 1024 * 1024, 3), 'amd64');
      const m = await client.getManifest(repo, '1');
      const doc = JSON.parse(m.bytes.toString()) as { config: { digest: string }; layers: { digest: string }[] };
      pushed.push({ repo, digest: img.digest, blobs: [doc.config.digest, ...doc.layers.map((l) => l.digest)] });
    }
    authfile = join(dir, 'auth.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [front.host]: { auth: Buffer.from('m:pw').toString('base64') } } }));
  }, 120_000);
  afterAll(async () => {
    await front?.close();
    await upstream?.stop();
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run writes mapping.txt and missing.txt and copies nothing', async () => {
    const out = join(dir, 'dry');
    const r = await reefResult(['mirror', '-c', isc(['acme/app-0:1', 'acme/absent:9']), `file://${out}`, '--dry-run', '--authfile', authfile], env());
    expect(r.code).toBe(1);
    expect(readFileSync(join(out, 'working-dir/dry-run/mapping.txt'), 'utf8')).toBe(`docker://${front.host}/acme/absent:9=file://${out}/acme/absent:9\ndocker://${front.host}/acme/app-0:1=file://${out}/acme/app-0:1\n`);
    expect(readFileSync(join(out, 'working-dir/dry-run/missing.txt'), 'utf8')).toBe(`docker://${front.host}/acme/absent:9=file://${out}/acme/absent:9\n`);
    expect(readdirSync(out).filter((f) => f.startsWith('mirror_'))).toEqual([]);
  }, 60_000);

  it('survives three SIGKILLs: no complete blob fetched again, and the archives serve every image from docker-registry', async () => {
    const out = join(dir, 'killed');
    const file = isc(pushed.slice(0, 6).map((p) => `${p.repo}:1`));
    const args = ['mirror', '-c', file, `file://${out}`, '--authfile', authfile, '--parallel-images', '1', '--parallel-layers', '1'];
    const blobGets = () => front.requests.filter((q) => q.method === 'GET' && /\/blobs\/sha256:/.test(q.path) && q.status === 200 && !q.range).length;
    // Kill each run once it has cached two more blobs (or at once if it got further): three kills at different points.
    const cached = () => {
      try {
        return readdirSync(join(out, 'working-dir/.reef/blobs/sha256')).length;
      } catch {
        return 0;
      }
    };
    let kills = 0;
    for (const more of [1, 2, 3]) {
      const before = cached();
      const p = runReef(args, env());
      while (p.child.exitCode === null && cached() < before + more) await new Promise((r) => setTimeout(r, 20));
      if (p.child.exitCode === null) {
        p.child.kill('SIGKILL');
        kills++;
      }
      await p.exited;
      // A killed run leaves only .partial chunks: nothing that looks whole.
      expect(readdirSync(out).filter((f) => /^mirror_\d{6}\.tar$/.test(f))).toEqual([]);
    }
    expect(kills).toBe(3);
    const done = await reefResult(args, env());
    expect(done.code, done.stdout + done.stderr).toBe(0);
    const blobs = new Set(pushed.slice(0, 6).flatMap((p) => p.blobs)).size;
    // Each kill can interrupt at most the one blob in flight; nothing complete is fetched again.
    expect(blobGets()).toBeLessThanOrEqual(blobs + kills);
    execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });

    const root = join(dir, 'served');
    mkdirSync(root);
    for (const t of readdirSync(out).filter((f) => /^mirror_\d{6}\.tar$/.test(f))) execFileSync('tar', ['-xf', join(out, t), '-C', root]);
    const reg = await startDistribution({ root });
    try {
      for (const p of pushed.slice(0, 6)) {
        const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${p.repo}:1`]).toString());
        const digest = execFileSync('skopeo', ['inspect', '--format', '{{.Digest}}', '--tls-verify=false', `docker://${reg.host}/${p.repo}@${p.digest}`]).toString().trim();
        expect(digest).toBe(p.digest);
        expect(inspected.layers.length).toBe(3);
      }
    } finally {
      await reg.stop();
    }
  }, 240_000);

  it('an incremental second run after adding one image writes only that image\'s blobs', async () => {
    const out = join(dir, 'killed');
    const first = readdirSync(join(out, 'working-dir/.history'));
    const r = await reefResult(['mirror', '-c', isc(pushed.map((p) => `${p.repo}:1`)), `file://${out}`, '--authfile', authfile], env());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const members = readdirSync(out)
      .filter((f) => /^mirror_\d{6}\.tar$/.test(f))
      .flatMap((t) => execFileSync('tar', ['-tf', join(out, t)]).toString().split('\n'))
      .map((m) => /^docker\/registry\/v2\/blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(m)?.[1])
      .filter((d): d is string => d !== undefined)
      .map((h) => `sha256:${h}`);
    const added = pushed[6]!;
    const manifestDigest = added.digest;
    expect(new Set(members)).toEqual(new Set([...added.blobs, manifestDigest]));
    expect(readdirSync(join(out, 'working-dir/.history')).length).toBe(first.length + 1);
  }, 120_000);
});
