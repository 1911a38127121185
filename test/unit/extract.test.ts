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

  it('leaves the target empty (but lost+found) when the archive turns out damaged', async () => {
    const root = join(dir, 'root-damaged');
    mkdirSync(join(root, 'lost+found'), { recursive: true });
    const tree = join(dir, 'damaged-tree');
    mkdirSync(join(tree, 'usr/lib'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(tree, 'usr/lib', `f${i}`), Buffer.alloc(64 * 1024, i));
    const tar = execFileSync('tar', ['-cf', '-', '-C', tree, '.'], { maxBuffer: 1 << 26 });
    // The stream ends in the middle of the archive: tar has written some files by then.
    async function* truncated() {
      yield tar.subarray(0, Math.floor(tar.length / 2));
      throw new Error('digest mismatch for blob sha256:… (the source ends badly)');
    }
    await expect(extractRootfs(truncated(), root, () => {})).rejects.toThrow(/digest mismatch/);
    expect(readdirSync(root)).toEqual(['lost+found']);
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
