import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/controller/config.js';
import { runReef } from '../helpers/process.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config', () => {
  it('has embedded defaults: ./data, 0.0.0.0:8080, 14d retention', () => {
    const c = loadConfig({});
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.dataDir).toBe(join(process.cwd(), 'data'));
    expect(c.publicUrl).toBe('http://127.0.0.1:8080');
    expect(c.media.retentionMs).toBe(14 * 86_400_000);
    expect(c.logLevel).toBe('info');
  });

  it.each([
    ['REEF_LISTEN', 'localhost'],
    ['REEF_LISTEN', '0.0.0.0:99999'],
    ['REEF_PUBLIC_URL', 'ftp://x'],
    ['REEF_PUBLIC_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['REEF_MEDIA_RETENTION', '14 days'],
    ['REEF_MAX_BODY', '1MB'],
  ])('%s=%j stops the start naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it('reads the YAML file named by REEF_CONFIG; the environment wins', () => {
    const file = join(dir, 'reef.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:9000\nREEF_DATA_DIR: /srv/reef\nmedia_retention: 2d\npublic_url: http://pxe.lab:9000/\n');
    const c = loadConfig({ REEF_CONFIG: file, REEF_LISTEN: '127.0.0.1:9001' });
    expect(c.listen.port).toBe(9001);
    expect(c.dataDir).toBe('/srv/reef');
    expect(c.media.retentionMs).toBe(2 * 86_400_000);
    expect(c.publicUrl).toBe('http://pxe.lab:9000');
    writeFileSync(file, 'colour: blue\n');
    expect(() => loadConfig({ REEF_CONFIG: file })).toThrow(/unknown setting "colour"/);
    expect(() => loadConfig({ REEF_CONFIG: join(dir, 'missing.yaml') })).toThrow(/^REEF_CONFIG: cannot read/);
  });
});

describe('security settings', () => {
  it('defaults: API auth local, metrics open, no TLS, no boot listener', () => {
    const c = loadConfig({} as NodeJS.ProcessEnv);
    expect(c.auth).toEqual({ mode: 'local', metricsNeedToken: false, failuresPerMinute: 30 });
    expect(c.tls).toEqual({ mode: 'off' });
    expect(c.bootListen).toBeUndefined();
    expect(c.registry.auth).toEqual({ mode: 'none' });
  });

  it('reads TLS, the boot listener and the registry token mode', () => {
    const c = loadConfig({ REEF_TLS: 'auto', REEF_DATA_DIR: '/srv/reef', REEF_BOOT_LISTEN: '10.0.0.1:80', REGISTRY_AUTH_MODE: 'token', REGISTRY_ANONYMOUS_PULL: 'true' } as NodeJS.ProcessEnv);
    expect(c.tls).toEqual({ mode: 'auto', dir: '/srv/reef/tls' });
    expect(c.bootListen).toEqual({ host: '10.0.0.1', port: 80 });
    expect(c.registry.auth).toEqual({ mode: 'token', anonymousPull: true });
  });

  it('refuses half a certificate pair, or auto with files, naming the setting', () => {
    expect(() => loadConfig({ REEF_TLS_CERT: '/x.crt' } as NodeJS.ProcessEnv)).toThrow(/^REEF_TLS_KEY: required with REEF_TLS_CERT/);
    expect(() => loadConfig({ REEF_TLS_KEY: '/x.key' } as NodeJS.ProcessEnv)).toThrow(/^REEF_TLS_CERT: required with REEF_TLS_KEY/);
    expect(() => loadConfig({ REEF_TLS: 'auto', REEF_TLS_CERT: '/x.crt', REEF_TLS_KEY: '/x.key' } as NodeJS.ProcessEnv)).toThrow(/^REEF_TLS: auto makes its own/);
    expect(() => loadConfig({ REEF_API_AUTH: 'open' } as NodeJS.ProcessEnv)).toThrow(ConfigError);
    expect(() => loadConfig({ REEF_BOOT_LISTEN: 'nowhere' } as NodeJS.ProcessEnv)).toThrow(/^REEF_BOOT_LISTEN: expected host:port/);
  });
});

describe('reef command', () => {
  it('--help lists serve and the settings', async () => {
    const r = runReef(['--help'], {});
    expect(await r.exited).toBe(0);
    expect(r.output()).toContain('reef serve');
    expect(r.output()).toContain('REEF_LISTEN');
  });

  it('a bad setting stops the start with a message naming it (exit 2)', async () => {
    const r = runReef(['serve'], { REEF_LISTEN: 'nope', REEF_DATA_DIR: dir });
    expect(await r.exited).toBe(2);
    expect(r.output()).toMatch(/configuration error:\n\s+REEF_LISTEN: expected host:port/);
  });

  it('an unknown command exits 2 with the help', async () => {
    const r = runReef(['frobnicate'], {});
    expect(await r.exited).toBe(2);
    expect(r.output()).toContain('unknown command "frobnicate"');
  });
});
