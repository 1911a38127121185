import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAuthFile, normaliseRegistryKey, parseAuthFile } from '../../src/registry/client/auth-file.js';
import { platformsOf, selectPlatforms } from '../../src/registry/client/manifests.js';
import { backoffDelay, isRetryable, parseRetryAfter } from '../../src/registry/client/retry.js';
import { parseChallenges } from '../../src/registry/client/token-auth.js';
import { OciClientError } from '../../src/registry/client/errors.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('WWW-Authenticate challenges', () => {
  it('reads quoted parameters, escapes included', () => {
    expect(parseChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:ns/app:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:ns/app:pull,push' } },
    ]);
    expect(parseChallenges('Basic realm="a \\"quoted\\" realm"')).toEqual([{ scheme: 'basic', params: { realm: 'a "quoted" realm' } }]);
  });

  it('reads bare values, a scope with a comma in it staying whole', () => {
    expect(parseChallenges('Bearer realm=http://127.0.0.1:5000/token,service=test,scope=repository:a/b:pull,push')).toEqual([
      { scheme: 'bearer', params: { realm: 'http://127.0.0.1:5000/token', service: 'test', scope: 'repository:a/b:pull,push' } },
    ]);
  });

  it('reads several challenges, in one header or in several', () => {
    expect(parseChallenges(['Basic realm="r"', 'Bearer realm="https://t/token",service="s"']).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(parseChallenges('Bearer realm="https://t/token", Basic realm="r"').map((c) => [c.scheme, c.params.realm])).toEqual([
      ['bearer', 'https://t/token'],
      ['basic', 'r'],
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('auth files (docker config JSON)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-authfile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('normalises host keys: scheme and path dropped, Docker Hub aliases, namespaces kept without a scheme', () => {
    expect(normaliseRegistryKey('https://quay.io/v1/')).toBe('quay.io');
    expect(normaliseRegistryKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseRegistryKey('Registry.Example.com:5000')).toBe('registry.example.com:5000');
    expect(normaliseRegistryKey('quay.io/team/')).toBe('quay.io/team');
  });

  it('decodes auth (a password may hold a colon) and username/password, the most specific key winning', () => {
    const file = parseAuthFile(
      JSON.stringify({
        auths: {
          'https://quay.io/v1/': { auth: b64('robot:pa:ss') },
          'quay.io/team': { auth: b64('teamrobot:x') },
          'registry.example.com:5000': { username: 'u', password: 'p' },
          'helper.example.com': {},
        },
        credHelpers: { 'gcr.io': 'gcloud' },
      }),
      'auth.json',
    );
    expect(file.credentialsFor('quay.io')).toEqual({ username: 'robot', password: 'pa:ss' });
    expect(file.credentialsFor('quay.io', 'team/app')).toEqual({ username: 'teamrobot', password: 'x' });
    expect(file.credentialsFor('quay.io', 'other/app')).toEqual({ username: 'robot', password: 'pa:ss' });
    expect(file.credentialsFor('registry.example.com:5000')).toEqual({ username: 'u', password: 'p' });
    expect(file.credentialsFor('helper.example.com')).toBeUndefined();
    expect(file.registries).toEqual(['quay.io', 'quay.io/team', 'registry.example.com:5000']);
  });

  it('names the file and the entry on a bad one, never its content', () => {
    expect(() => parseAuthFile('{"auths": {"q.io": {"auth": "' + b64('no-colon-secret') + '"}}}', '/x/auth.json')).toThrow(
      /^\/x\/auth.json: auths\["q.io"\].auth is not base64 of user:password$/,
    );
    expect(() => parseAuthFile('not json secret', '/x/auth.json')).toThrow(/^\/x\/auth.json: not JSON/);
    try {
      parseAuthFile('not json secret', '/x/auth.json');
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
    }
  });

  it('loads the file named, else $XDG_RUNTIME_DIR/containers/auth.json, else ~/.docker/config.json, else none', async () => {
    const home = join(dir, 'home');
    const xdg = join(dir, 'xdg');
    mkdirSync(join(home, '.docker'), { recursive: true });
    mkdirSync(join(xdg, 'containers'), { recursive: true });
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'r.io': { auth: b64('from-home:1') } } }));
    expect((await loadAuthFile(undefined, { xdgRuntimeDir: xdg, home })).credentialsFor('r.io')?.username).toBe('from-home');
    writeFileSync(join(xdg, 'containers', 'auth.json'), JSON.stringify({ auths: { 'r.io': { auth: b64('from-xdg:1') } } }));
    expect((await loadAuthFile(undefined, { xdgRuntimeDir: xdg, home })).credentialsFor('r.io')?.username).toBe('from-xdg');
    const named = join(dir, 'named.json');
    writeFileSync(named, JSON.stringify({ auths: { 'r.io': { auth: b64('named:1') } } }));
    const file = await loadAuthFile(named, { xdgRuntimeDir: xdg, home });
    expect([file.path, file.credentialsFor('r.io')?.username]).toEqual([named, 'named']);
    const none = await loadAuthFile(undefined, { home: join(dir, 'nobody') });
    expect([none.path, none.credentialsFor('r.io')]).toEqual([undefined, undefined]);
    await expect(loadAuthFile(join(dir, 'missing.json'))).rejects.toThrow(`the auth file ${join(dir, 'missing.json')} does not exist`);
  });
});

describe('retry rules', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('backs off exponentially, jittered between half and all of base·2^n, capped', () => {
    expect(backoffDelay(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(10, 1000, 60_000, () => 1)).toBe(60_000);
  });

  it('retries 429, 5xx and dropped connections; never a 4xx, a certificate failure or a plain-HTTP answer', () => {
    expect(isRetryable(new OciClientError('x', 429))).toBe(true);
    expect(isRetryable(new OciClientError('x', 503))).toBe(true);
    expect(isRetryable(new OciClientError('x', 404))).toBe(false);
    expect(isRetryable(new OciClientError('x', 401))).toBe(false);
    expect(isRetryable(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(true);
    expect(isRetryable(new Error('socket hang up'))).toBe(true);
    expect(isRetryable(new Error('timeout after 60000 ms'))).toBe(true);
    expect(isRetryable(Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toBe(false);
    expect(isRetryable(new OciClientError('cannot trust', undefined, { cause: Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }) }))).toBe(false);
    expect(isRetryable(new SyntaxError('Unexpected token'))).toBe(false);
  });
});

describe('index platforms', () => {
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 10, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 11, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 12, platform: { os: 'linux', architecture: 's390x' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'d'.repeat(64)}`, size: 13, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
    ],
  });

  it('lists the entries with their platforms', () => {
    const entries = platformsOf(Buffer.from(index));
    expect(entries.map((e) => e.platform?.architecture)).toEqual(['amd64', 'arm64', 's390x', undefined]);
    expect(entries[1]).toMatchObject({ size: 11, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  });

  it("picks the architectures asked for (uname names too); 'multi' keeps every entry", () => {
    const entries = platformsOf(index);
    expect(selectPlatforms(entries, ['amd64', 'arm64']).map((e) => e.size)).toEqual([10, 11]);
    expect(selectPlatforms(entries, ['x86_64']).map((e) => e.size)).toEqual([10]);
    expect(selectPlatforms(entries, ['multi'])).toHaveLength(4);
  });

  it('refuses what is no index', () => {
    expect(() => platformsOf('{"schemaVersion":2,"layers":[]}')).toThrow(/no "manifests" array/);
    expect(() => platformsOf('{"manifests":[{"digest":"sha256:zz","size":1}]}')).toThrow(/manifests\[0\].digest is not a digest/);
  });
});
