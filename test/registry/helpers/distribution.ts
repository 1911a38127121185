/**
 * Debian's `docker-registry` (CNCF distribution 2.8) as a test registry on 127.0.0.1: filesystem
 * storage in a temp dir, no auth (a test puts its own token front before it), deletes enabled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopChild, waitListening } from '../../helpers/child-server.js';

export const DISTRIBUTION_BIN = '/usr/bin/docker-registry';

export interface Distribution {
  /** `127.0.0.1:<port>` */
  host: string;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts Debian's docker-registry on 127.0.0.1: with its storage in a temp dir, or serving `root`
 * (a directory holding docker/registry/v2, e.g. extracted mirror archives; left as it is).
 */
export const startDistribution = async (opts: { root?: string } = {}): Promise<Distribution> => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-distribution-'));
  const port = await freePort();
  const conf = join(dir, 'config.yml');
  writeFileSync(
    conf,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${opts.root ?? join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  const child = spawn(DISTRIBUTION_BIN, ['serve', conf], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitListening('docker-registry', port, child, () => output);
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    child,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
