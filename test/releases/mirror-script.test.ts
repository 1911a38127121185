/**
 * scripts/mirror.sh as FastRegistry's document prints it (`./mirror.sh 4.21.0`, `--arm`) against
 * a real reef, ending on every final state: cloned (0), failed (1), and an unknown release (2).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN } from '../registry/helpers/distribution.js';
import { type ReleaseUpstream, startReleaseUpstream } from './release-upstream.js';

const ok = requireTool(DISTRIBUTION_BIN) && requireTool('curl') && requireTool('jq');
const scripts = join(import.meta.dirname, '../../scripts');

const run = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile('./mirror.sh', args, { cwd: scripts, env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout + stderr }),
    );
  });

describe.runIf(ok)('scripts/mirror.sh', () => {
  let up: ReleaseUpstream;
  let reef: TestReef;
  let env: Record<string, string>;

  beforeAll(async () => {
    up = await startReleaseUpstream();
    await up.push('4.22.0', 'x86_64', 3, 32 * 1024);
    await up.push('4.22.0', 'aarch64', 3, 32 * 1024);
    const broken = await up.push('4.22.1', 'x86_64', 3, 32 * 1024);
    // A component the upstream no longer has: that clone must fail.
    const c = broken.components[1]!;
    const res = await fetch(`${up.distribution.url}/v2/${c.repo}/manifests/${c.digest}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    reef = await startTestReef({ REEF_CONFIG: up.configFile({ retries: 0 }) });
    env = { REEF_URL: reef.url, MIRROR_POLL: '0.2' };
  }, 120_000);
  afterAll(async () => {
    await reef?.stop();
    await up?.stop();
  });

  it('./mirror.sh 4.22.0 clones x86_64 and exits 0 on cloned', async () => {
    const r = await run(['4.22.0'], env);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('clone started: 4.22.0-x86_64');
    expect(r.out).toContain('4.22.0-x86_64 is cloned');
    expect((await reef.json('GET', '/admin/releases/4.22.0-x86_64/status')).body.release.state).toBe('cloned');
  }, 60_000);

  it('./mirror.sh 4.22.0 --arm clones aarch64', async () => {
    const r = await run(['4.22.0', '--arm'], env);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('4.22.0-aarch64 is cloned');
  }, 60_000);

  it('exits 1 on failed, naming the error, and 2 on a release the upstream lacks or bad arguments', async () => {
    const failed = await run(['4.22.1'], env);
    expect(failed.code, failed.out).toBe(1);
    expect(failed.out).toMatch(/4\.22\.1-x86_64 failed: .*MANIFEST_UNKNOWN/);
    const missing = await run(['4.99.0'], env);
    expect(missing.code, missing.out).toBe(2);
    expect(missing.out).toContain('HTTP 404');
    expect(missing.out).toContain('release not found');
    expect((await run(['latest'], env)).code).toBe(2);
    expect((await run(['4.22.0', '--s390x'], env)).code).toBe(2);
  }, 60_000);
});
