/**
 * The `releases:` section of the REEF_CONFIG file: FastRegistry's keys as its documentation
 * prints them, defaults, and a refusal naming the key for each bad value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/controller/config.js';
import { clientAddress } from '../../src/controller/releases/file-routes.js';
import { releaseTagsOf } from '../../src/releases/discover.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-release-config-'));
const secret = join(dir, 'pull-secret.json');
writeFileSync(secret, '{"auths":{}}');
let n = 0;
const load = (yamlText: string, env: Record<string, string> = {}) => {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, yamlText);
  return loadConfig({ REEF_CONFIG: file, REEF_DATA_DIR: dir, ...env } as NodeJS.ProcessEnv);
};
const refusal = (yamlText: string, env: Record<string, string> = {}) => {
  try {
    load(yamlText, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('releases config', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the section exactly as FastRegistry documents it (pull secret path aside)', () => {
    const c = load(
      ['releases:', '  enabled: true', `  pull_secret: ${secret}`, '  upstream: quay.io', '  repository: openshift-release-dev/ocp-release', '  local_repo: openshift/release', '  architectures:', '    - x86_64', '    - aarch64', '  auto_discover: true', ''].join('\n'),
    );
    expect(c.releases).toMatchObject({
      upstream: 'quay.io',
      repository: 'openshift-release-dev/ocp-release',
      local_repo: 'openshift/release',
      architectures: ['x86_64', 'aarch64'],
      pull_secret: secret,
      artifactPath: join(dir, 'releases'),
      installsPath: join(dir, 'installs'),
      discoverSchedule: '0 */6 * * *',
    });
  });

  it('honours discover_schedule and artifact_path; no section or enabled: false means off', () => {
    const c = load(['releases:', '  enabled: true', '  auto_discover: true', "  discover_schedule: '*/10 * * * *'", `  artifact_path: ${join(dir, 'art')}`, ''].join('\n'));
    expect(c.releases).toMatchObject({ discoverSchedule: '*/10 * * * *', artifactPath: join(dir, 'art'), installsPath: join(dir, 'installs'), architectures: ['x86_64'] });
    expect(load(['releases:', '  enabled: true', "  discover_schedule: '*/10 * * * *'", ''].join('\n')).releases?.discoverSchedule).toBeUndefined();
    expect(load('listen: 127.0.0.1:0\n').releases).toBeUndefined();
    expect(load('releases:\n  enabled: false\n').releases).toBeUndefined();
  });

  it('refuses bad values naming the key', () => {
    expect(refusal('releases:\n  enabled: true\n  architectures: [x86_64, arm64]\n')).toMatch(/^releases\.architectures\[1\]: /);
    expect(refusal('releases:\n  enabled: true\n  architecture: [x86_64]\n')).toMatch(/^releases\.architecture: unknown key/);
    expect(refusal("releases:\n  enabled: true\n  auto_discover: true\n  discover_schedule: 'every day'\n")).toMatch(/^releases\.discover_schedule: /);
    expect(refusal('releases:\n  enabled: true\n  pull_secret: /nonexistent/ps.json\n')).toMatch(/^releases\.pull_secret: \/nonexistent\/ps\.json does not exist/);
    expect(refusal('releases:\n  enabled: yes please\n')).toMatch(/^releases\.enabled: /);
    expect(refusal('releases:\n  enabled: true\n  upstream: https://quay.io\n')).toMatch(/^releases\.upstream: /);
    expect(refusal('releases:\n  enabled: true\n  copy_dirs: [srv/iso]\n')).toMatch(/^releases\.copy_dirs\[0\]: must be an absolute path/);
    expect(refusal('releases:\n  enabled: true\n  ssh_known_hosts: /nonexistent/known_hosts\n')).toMatch(/^releases\.ssh_known_hosts: /);
    expect(refusal(`releases:\n  enabled: true\n  ssh_identity: ${secret}\n`)).toMatch(/^releases\.ssh_identity: needs releases\.ssh_known_hosts/);
    expect(refusal('releases:\n  enabled: true\n', { ENABLE_REGISTRY: 'false' })).toMatch(/^releases\.enabled: .*ENABLE_REGISTRY=false/);
    expect(refusal('listen: 127.0.0.1:0\n', { REEF_TRUSTED_PROXIES: '10.0.0.1,proxy.lan' })).toMatch(/^REEF_TRUSTED_PROXIES: /);
  });

  it('discovery keeps <x.y.z>-<arch> tags of the configured architectures and -multi, newest first', () => {
    const tags = ['latest', '4.19.7-x86_64', '4.19.7-aarch64', '4.19.7-s390x', '4.20.0-multi', '4.19.10-x86_64', '4.19.7-x86_64-cli', 'v4.19.7-x86_64'];
    expect(releaseTagsOf(tags, ['x86_64', 'aarch64'])).toEqual(['4.20.0-multi', '4.19.10-x86_64', '4.19.7-aarch64', '4.19.7-x86_64']);
  });

  it('believes X-Forwarded-For only from a trusted proxy, right to left', () => {
    expect(clientAddress('192.0.2.7', '203.0.113.9', [])).toBe('192.0.2.7');
    expect(clientAddress('10.0.0.1', '203.0.113.9', ['10.0.0.1'])).toBe('203.0.113.9');
    expect(clientAddress('::ffff:10.0.0.1', '198.51.100.1, 203.0.113.9, 10.0.0.2', ['10.0.0.1', '10.0.0.2'])).toBe('203.0.113.9');
    expect(clientAddress('192.0.2.7', '203.0.113.9', ['10.0.0.1'])).toBe('192.0.2.7');
  });
});
