import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractRootfs } from '../../src/maintenance-os/extract.js';
import { inRoot } from '../../src/maintenance-os/in-root.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-extract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tgz = (name: string) => {
  const tree = join(dir, `${name}-tree`);
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'hostname'), 'node01\n');
  const out = join(dir, `${name}.tgz`);
  execFileSync('tar', ['-czf', out, '-C', tree, '.']);
  return out;
};

describe('extractRootfs', () => {
  it('takes a gzip layer with zero padding after the gzip data (as gzip -d does) instead of hanging', async () => {
    const file = tgz('padded');
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(3 * 1024 * 1024)]));
    const root = join(dir, 'root-padded');
    mkdirSync(root);
    const r = await extractRootfs(createReadStream(file), root, () => {});
    expect(r.compression).toBe('gzip');
    expect(readFileSync(join(root, 'etc/hostname'), 'utf8')).toBe('node01\n');
  });

  it('removes the staging directories an earlier, killed run left in the root', async () => {
    const root = join(dir, 'root-stale');
    mkdirSync(join(root, '.reef-extract-4242', 'half'), { recursive: true });
    await extractRootfs(createReadStream(tgz('stale')), root, () => {});
    expect(readdirSync(root).sort()).toEqual(['etc']);
  });
});

describe('inRoot', () => {
  it('refuses to go through a symlink of the installed image, and paths with ..', async () => {
    const root = join(dir, 'root-links');
    mkdirSync(join(root, 'var'), { recursive: true });
    symlinkSync('/etc', join(root, 'etc'));
    await expect(inRoot(root, 'etc/fstab')).rejects.toThrow('refusing to go through /etc: it is a symlink in the installed image');
    await expect(inRoot(root, 'var/../../x')).rejects.toThrow('climbs out of the target root');
    expect(await inRoot(root, 'var/lib/cloud/seed/nocloud')).toBe(join(root, 'var/lib/cloud/seed/nocloud'));
  });
});
