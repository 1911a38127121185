/**
 * A clone cut by SIGKILL resumes by itself when reef starts again: no `cloning` left stuck, the
 * copy verified whole, and no blob that had landed in reef's registry before the kill fetched
 * from the upstream again (only the few in flight at the kill are fetched a second time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildReef, spawnReef } from '../helpers/process.js';
import { requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN } from '../registry/helpers/distribution.js';
import { type ReleaseUpstream, startReleaseUpstream, until } from './release-upstream.js';

const ok = requireTool(DISTRIBUTION_BIN);
const PARALLEL_LAYERS = 2;

describe.runIf(ok)('releases: a clone killed with SIGKILL resumes on start', () => {
  let up: ReleaseUpstream;
  const dataDir = mkdtempSync(join(tmpdir(), 'reef-release-resume-'));
  const children: ChildReef[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    up = await startReleaseUpstream();
    await up.push('4.20.3', 'x86_64', 60, 1024 * 1024);
    env = { REEF_DATA_DIR: dataDir, REEF_CONFIG: up.configFile({ parallel_images: 1, parallel_layers: PARALLEL_LAYERS }) };
  }, 180_000);
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await up?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const status = async (reef: ChildReef) => (await (await fetch(`${reef.url}/admin/releases/4.20.3-x86_64/status`)).json()) as { release: { state: string; verify: { complete: boolean } }; progress?: { synced_blobs: number; total_blobs: number; total_components: number; mirrored_components: number } };
  /** The blobs reef's registry holds in the release repository (what it answers HEAD for), read from its database after the kill. */
  const blobsInReef = () => {
    const db = new Database(join(dataDir, 'reef.db'), { readonly: true });
    try {
      return new Set((db.prepare('select digest from reg_repo_blobs where repo = ?').all('openshift/release') as { digest: string }[]).map((r) => r.digest));
    } finally {
      db.close();
    }
  };

  it('finishes after a restart with nothing fetched twice that had landed', async () => {
    const first = await spawnReef(env);
    children.push(first);
    const started = await fetch(`${first.url}/admin/releases/clone`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"version":"4.20.3-x86_64"}' });
    expect(started.status).toBe(202);
    const mid = await until(() => status(first), (s) => (s.progress?.mirrored_components ?? 0) >= 10, 'clone a sixth done');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(mid.release.state).toBe('cloning');
    expect(mid.progress!.mirrored_components).toBeLessThan(60);
    const landed = blobsInReef();
    const before = up.blobGets();
    const mark = up.front.requests.length;

    const second = await spawnReef(env);
    children.push(second);
    const end = await until(() => status(second), (s) => s.release.state !== 'cloning', 'the resumed clone ends', 180_000);
    expect(end.release.state).toBe('cloned');
    expect(end.release.verify.complete).toBe(true);
    expect(end.progress).toMatchObject({ total_components: 60, mirrored_components: 60 });
    expect(end.progress!.synced_blobs).toBe(end.progress!.total_blobs);

    const after = up.blobGets(mark);
    const again = [...after.keys()].filter((d) => landed.has(d));
    expect(again.map((d) => `${d} before=${before.get(d) ?? 0}`), 'blobs fetched again though reef had them').toEqual([]);
    // Only what was in flight at the kill is fetched a second time.
    const twice = [...after.keys()].filter((d) => before.has(d));
    expect(twice.length).toBeLessThanOrEqual(PARALLEL_LAYERS);
    expect(after.size).toBeGreaterThan(0);
    const events = (await (await fetch(`${second.url}/admin/releases/events?type=clone_start`)).json()) as { events: { details: Record<string, unknown> }[] };
    expect(events.events[0]!.details).toEqual({ resumed: true });
    second.child.kill('SIGTERM');
    await second.exited;
  }, 300_000);
});
