/** `reef prestage download -u user:pass` against a reef registry that requires authentication. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSyntheticRelease } from '../fixtures/synthetic-release.js';
import { runReef } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

describe('reef prestage download with registry credentials', () => {
  let reef: TestReef;
  let host: string;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'reef-precache-auth-'));
    reef = await startTestReef({ REGISTRY_AUTH_MODE: 'basic', REGISTRY_USERNAME: 'factory', REGISTRY_PASSWORD: 's3cret' });
    host = new URL(reef.url).host;
    await pushSyntheticRelease({ registry: host, username: 'factory', password: 's3cret', version: '4.19.7', components: 3, imageBytes: 16 * 1024, layersPerImage: 1 });
  }, 60_000);

  afterAll(async () => {
    await reef?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('fails with the registry 401 without -u, and downloads with it', async () => {
    const anon = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'anon'), '--release', '4.19.7'], {});
    expect(await anon.exited).toBe(1);
    expect(anon.output()).toMatch(/HTTP 401 UNAUTHORIZED/);
    const wrong = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'anon'), '--release', '4.19.7', '-u', 'factory:nope'], {});
    expect(await wrong.exited).toBe(1);
    expect(wrong.output()).not.toContain('nope');
    const r = runReef(['prestage', 'download', '--registry', `http://${host}`, '--to', join(work, 'ok'), '--release', '4.19.7', '-u', 'factory:s3cret'], {});
    expect(await r.exited, r.output()).toBe(0);
    expect(readdirSync(join(work, 'ok')).filter((f) => f.endsWith('.tgz'))).toHaveLength(4);
  });
});
