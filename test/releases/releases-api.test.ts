/**
 * Release management at FastRegistry's API against a real upstream (docker-registry behind a
 * token front demanding the pull secret): discover, clone into reef's own registry by digest
 * (the seed document's curl examples run as printed, host and port aside), status counters,
 * the verify gate, two architectures of one version side by side, reset that cancels.
 */
import { exec } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyntheticRelease } from '../fixtures/synthetic-release.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN } from '../registry/helpers/distribution.js';
import { PULL_PASSWORD, type ReleaseUpstream, startReleaseUpstream, until } from './release-upstream.js';

const sh = promisify(exec);
const ok = requireTool(DISTRIBUTION_BIN) && requireTool('curl') && requireTool('jq');

/** The seed's examples, verbatim (fastregistry-release-management.md, "1. Mirror a Release"). */
const SEED_CLONE = `curl -X POST "http://fastregistry.gw.lo:5000/admin/releases/clone" \\
  -H "Content-Type: application/json" \\
  -d '{"version": "4.21.0-x86_64"}'`;
const SEED_STATUS = `curl -s "http://fastregistry.gw.lo:5000/admin/releases/4.21.0-x86_64/status" | jq`;
const atReef = (command: string, reef: TestReef) => command.replaceAll('http://fastregistry.gw.lo:5000', reef.url);
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

describe.runIf(ok)('releases: discover, clone, status, verify, reset (FastRegistry API)', () => {
  let up: ReleaseUpstream;
  let reef: TestReef;
  let x86: SyntheticRelease;
  let arm: SyntheticRelease;

  beforeAll(async () => {
    up = await startReleaseUpstream();
    x86 = await up.push('4.21.0', 'x86_64', 8, 96 * 1024);
    arm = await up.push('4.21.0', 'aarch64', 6, 64 * 1024);
    reef = await startTestReef({ REEF_CONFIG: up.configFile() });
  }, 120_000);
  afterAll(async () => {
    await reef?.stop();
    await up?.stop();
  });

  const status = async (v: string) => (await reef.json('GET', `/admin/releases/${v}/status`)).body;
  const settled = (v: string) => until(() => status(v), (s) => !['cloning', 'extracting'].includes(s.release?.state), `${v} settles`);
  const digestAt = async (repo: string, ref: string) => {
    const res = await reef.req(`/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: ACCEPT } });
    return res.status === 200 ? res.headers.get('docker-content-digest') : `HTTP ${res.status}`;
  };

  it('discovers <x.y.z>-<arch> tags of the configured architectures (and nothing else), once each, with events', async () => {
    const first = await reef.json('POST', '/admin/releases/discover');
    expect(first.status).toBe(200);
    expect(first.body.new.sort()).toEqual(['4.21.0-aarch64', '4.21.0-x86_64']);
    const again = await reef.json('POST', '/admin/releases/discover');
    expect(again.body.new).toEqual([]);
    const list = await reef.json('GET', '/admin/releases?state=available');
    expect(list.body.releases.map((r: { tag: string }) => r.tag).sort()).toEqual(['4.21.0-aarch64', '4.21.0-x86_64']);
    expect(list.body.releases[0]).toMatchObject({ version: '4.21.0', state: 'available', cloned_at: null, artifacts: [] });
    const events = await reef.json('GET', '/admin/releases/events?type=release.discovered');
    expect(events.body.events.map((e: { version: string }) => e.version).sort()).toEqual(['4.21.0-aarch64', '4.21.0-x86_64']);
    const runs = await reef.json('GET', '/admin/releases/events?type=discovery.run');
    expect(runs.body.events).toHaveLength(2);
    expect(runs.body.events[0]).toMatchObject({ severity: 'success', details: { found: 2, new: 0 } });
  });

  it('clones as the seed document prints it: 202, then status with counters, the verify object, and every image in reef by digest', async () => {
    // The upstream fails now and then: a 503 on a manifest, a 429 on a blob, a blob cut short.
    up.front.inject((m, p) => m === 'GET' && /\/manifests\/sha256:/.test(p), { status: 503 });
    up.front.inject((m, p) => m === 'GET' && /\/blobs\//.test(p), { status: 429, retryAfter: '1' });
    up.front.inject((m, p) => m === 'GET' && /\/blobs\//.test(p), { cutAfter: 4096 });
    const { stdout } = await sh(atReef(SEED_CLONE, reef));
    expect(JSON.parse(stdout)).toEqual({ message: 'clone started', version: '4.21.0-x86_64' });
    const end = await settled('4.21.0-x86_64');
    expect(end.release.state, JSON.stringify(end.release)).toBe('cloned');
    const printed = JSON.parse((await sh(atReef(SEED_STATUS, reef))).stdout);
    expect(printed.release).toMatchObject({ version: '4.21.0', architecture: 'x86_64', tag: '4.21.0-x86_64', state: 'cloned', upstream_digest: x86.releaseDigest, error: null });
    expect(Date.parse(printed.release.cloned_at)).toBeGreaterThan(0);
    const p = printed.progress;
    expect(p).toMatchObject({ version: '4.21.0-x86_64', phase: 'mirroring_components', total_components: 8, mirrored_components: 8, component_percent: 100, percent_done: 100 });
    expect(p.synced_blobs).toBe(p.total_blobs);
    expect(p.synced_bytes).toBe(p.total_bytes);
    expect(p.total_bytes).toBeGreaterThan(x86.totalBytes);
    expect(printed.release.size).toBe(p.total_bytes);
    expect(printed.release.verify).toMatchObject({ complete: true, components_expected: 8, component_manifests_ok: 8, release_blobs_expected: 3, release_blobs_present: 3 });
    expect(printed.release.verify.component_blobs_present).toBe(printed.release.verify.component_blobs_expected);
    // oc adm release mirror's layout: one repository, by digest, manifest lists whole.
    expect(await digestAt('openshift/release', '4.21.0-x86_64')).toBe(x86.releaseDigest);
    for (const c of x86.components) {
      expect(await digestAt('openshift/release', c.digest), c.name).toBe(c.digest);
      expect(await digestAt('openshift/release', `4.21.0-x86_64-${c.name}`), c.name).toBe(c.digest);
    }
    const types = (await reef.json('GET', '/admin/releases/events?version=4.21.0-x86_64')).body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(['cloned', 'clone_start', 'release.discovered']);
    expect(up.front.tokenRequests.some((t) => t.ok)).toBe(true);
    expect(up.front.requests.filter((q) => q.fault).map((q) => q.fault).sort()).toEqual(['429', '503', 'cut after 4096']);
  }, 120_000);

  it('clones aarch64 of the same version beside x86_64; a bare version is the first architecture, and a second clone fetches no blob again', async () => {
    const r = await reef.json('POST', '/admin/releases/clone', { version: '4.21.0-aarch64' });
    expect(r.status).toBe(202);
    expect((await settled('4.21.0-aarch64')).release.state).toBe('cloned');
    expect(await digestAt('openshift/release', '4.21.0-aarch64')).toBe(arm.releaseDigest);
    expect(await digestAt('openshift/release', '4.21.0-x86_64')).toBe(x86.releaseDigest);
    for (const c of arm.components) expect(await digestAt('openshift/release', `4.21.0-aarch64-${c.name}`), c.name).toBe(c.digest);

    const mark = up.front.requests.length;
    const bare = await reef.json('POST', '/admin/releases/clone', { version: '4.21.0' });
    expect(bare.body).toEqual({ message: 'clone started', version: '4.21.0-x86_64' });
    expect((await settled('4.21.0-x86_64')).release.state).toBe('cloned');
    expect([...up.blobGets(mark).keys()]).toEqual([]);
    const both = await reef.json('GET', '/admin/releases?state=cloned');
    expect(both.body.releases.map((x: { tag: string }) => x.tag).sort()).toEqual(['4.21.0-aarch64', '4.21.0-x86_64']);
  }, 120_000);

  it('verify reads every blob back: a damaged one makes the copy incomplete, naming it', async () => {
    const good = await reef.json('POST', '/admin/releases/4.21.0-aarch64/verify');
    expect(good.body.verify).toMatchObject({ complete: true, problems: [] });
    const layer = arm.components[0]!;
    const manifest = await (await reef.req(`/v2/openshift/release/manifests/${layer.imageDigest}`, { headers: { accept: ACCEPT } })).json();
    const victim = (manifest as { layers: { digest: string }[] }).layers[0]!.digest;
    const blobs = join(reef.dataDir, 'registry', 'blobs', 'sha256');
    const hex = victim.slice('sha256:'.length);
    const file = readdirSync(blobs, { recursive: true }).map(String).find((f) => f.endsWith(hex));
    expect(file, `blob ${victim} under ${blobs}`).toBeDefined();
    writeFileSync(join(blobs, file!), 'not the layer');
    const bad = await reef.json('GET', '/admin/releases/4.21.0-aarch64/verify');
    expect(bad.body.verify.complete).toBe(false);
    expect(bad.body.verify.component_blobs_present).toBe(bad.body.verify.component_blobs_expected - 1);
    expect(bad.body.verify.problems.join('\n')).toContain(victim);
  });

  it('reset cancels a running clone for real: the state goes back and the upstream sees no request after it returns', async () => {
    await up.push('4.21.1', 'x86_64', 40, 1024 * 1024);
    expect((await reef.json('POST', '/admin/releases/clone', { version: '4.21.1-x86_64' })).status).toBe(202);
    await until(() => status('4.21.1-x86_64'), (s) => (s.progress?.synced_blobs ?? 0) > 3, 'clone under way');
    const r = await reef.json('POST', '/admin/releases/4.21.1-x86_64/reset');
    expect(r.body).toEqual({ message: 'release reset to available', version: '4.21.1-x86_64' });
    const after = up.front.requests.length;
    await new Promise((res) => setTimeout(res, 1500));
    expect(up.front.requests.slice(after)).toEqual([]);
    const s = await status('4.21.1-x86_64');
    expect(s.release.state).toBe('available');
    expect(s.progress?.mirrored_components ?? 0).toBeLessThan(40);
    const events = (await reef.json('GET', '/admin/releases/events?version=4.21.1-x86_64&severity=warning')).body.events;
    expect(events[0]).toMatchObject({ type: 'reset', details: { from: 'cloning', to: 'available', cancelled: true } });
  }, 120_000);

  it('answers in reef\'s error envelope: unknown release 404 "release not found", bad input 400 naming the field', async () => {
    const missing = await reef.json('GET', '/admin/releases/4.2.0-x86_64/status');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'release not found' });
    const notUpstream = await reef.json('POST', '/admin/releases/clone', { version: '4.99.0' });
    expect(notUpstream.status).toBe(404);
    const bad = await reef.json('POST', '/admin/releases/clone', { version: 'latest' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('version');
    const unknownKey = await reef.json('POST', '/admin/releases/clone', { version: '4.21.0', arch: 'x86_64' });
    expect(unknownKey.body.error.details[0]).toMatchObject({ path: 'arch', message: 'unknown key' });
    const state = await reef.json('GET', '/admin/releases?state=bogus');
    expect(state.status).toBe(400);
    expect(state.body.error.details[0].path).toBe('state');
    const since = await reef.json('GET', '/admin/releases/events?since=yesterday');
    expect(since.body.error.details[0].path).toBe('since');
    expect((await reef.json('GET', `/admin/releases/events?since=${new Date(Date.now() + 60_000).toISOString()}`)).body.events).toEqual([]);
    expect((await reef.json('GET', '/admin/releases/events?since=2000-01-01T00:00:00Z')).body.events.length).toBeGreaterThan(5);
  });

  it('discovers on discover_schedule by itself when auto_discover is on', async () => {
    const scheduled = await startTestReef({ REEF_CONFIG: up.configFile({ auto_discover: true, discover_schedule: '* * * * * *' }) });
    try {
      const runs = await until(
        async () => (await scheduled.json('GET', '/admin/releases/events?type=discovery.run')).body.events,
        (e: unknown[]) => e.length > 0,
        'a scheduled discovery',
      );
      expect(runs[0]).toMatchObject({ severity: 'success', details: { trigger: 'schedule' } });
      expect((await scheduled.json('GET', '/admin/releases')).body.releases.length).toBeGreaterThanOrEqual(2);
    } finally {
      await scheduled.stop();
    }
  });

  it('never puts the pull secret or an upstream token in a release, event or error', async () => {
    const everything = JSON.stringify([
      (await reef.json('GET', '/admin/releases')).body,
      (await reef.json('GET', '/admin/releases/events?limit=10000')).body,
    ]);
    for (const secret of [PULL_PASSWORD, Buffer.from(`release-puller:${PULL_PASSWORD}`).toString('base64'), ...up.front.issued]) expect(everything).not.toContain(secret);
  });
});
