import { describe, expect, it } from 'vitest';
import { MirrorUsageError, parseMirrorArgs } from '../../src/mirror/cli-args.js';

describe('reef mirror arguments, oc-mirror v2 style', () => {
  it('takes the seed documents\' command lines as printed', () => {
    const a = parseMirrorArgs(['-c', 'isc.yaml', 'docker://registry.site:8443', '--v2', '--parallel-images', '8', '--parallel-layers', '10', '--cache-dir', '/var/cache/oc']);
    expect(a).toMatchObject({ config: 'isc.yaml', destination: { kind: 'registry', registry: 'registry.site:8443', namespace: '' }, parallelImages: 8, parallelLayers: 10, cacheDir: '/var/cache/oc' });
    const b = parseMirrorArgs(['-c', 'isc.yaml', 'docker://r:8443/mirror/ocp', '--v2', '--dest-tls-verify=true', '--src-tls-verify=false']);
    expect(b).toMatchObject({ destination: { registry: 'r:8443', namespace: 'mirror/ocp' }, destTlsVerify: true, srcTlsVerify: false });
    const c = parseMirrorArgs(['-c', 'imageset-config.yaml', '--from', 'file://content', 'docker://host:8443', '--v2', '--verbose']);
    expect(c).toMatchObject({ from: 'content', logLevel: 'debug' });
    const d = parseMirrorArgs(['-c', 'isc.yaml', 'file:///srv/mirror']);
    expect(d).toMatchObject({ destination: { kind: 'disk', dir: '/srv/mirror' }, parallelImages: 4, parallelLayers: 5, retryTimes: 5, imageTimeoutMs: 600_000, dryRun: false });
  });

  it('names the flag or argument at fault', () => {
    const bad = (argv: string[]) => {
      try {
        parseMirrorArgs(argv);
      } catch (err) {
        expect(err).toBeInstanceOf(MirrorUsageError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad(['docker://r'])).toMatch(/^-c\/--config/);
    expect(bad(['-c', 'i.yaml', 'docker://r', '--parallel-images', 'many'])).toMatch(/^--parallel-images: expected a whole number/);
    expect(bad(['-c', 'i.yaml', 'docker://r', '--fast'])).toBe('unknown flag --fast');
    expect(bad(['-c', 'i.yaml', 'http://r'])).toMatch(/^destination: expected docker:\/\//);
    expect(bad(['-c', 'i.yaml', '--from', 'file://x', 'file://y'])).toMatch(/^--from: disk-to-registry needs a docker:\/\/ destination/);
    expect(bad(['-c', 'i.yaml', 'docker://r', '--dest-tls-verify=maybe'])).toMatch(/^--dest-tls-verify: expected true or false/);
    expect(bad(['-c', 'i.yaml', 'docker://r', '--retry-delay', 'soon'])).toMatch(/^--retry-delay: expected a duration/);
    expect(bad(['-c', 'i.yaml', 'docker://r', '--since', 'yesterday'])).toMatch(/^--since:/);
  });
});
