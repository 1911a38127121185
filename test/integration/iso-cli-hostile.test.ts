import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNewc } from '../../src/formats/cpio/newc.js';
import { buildLiveIso, type LiveIsoFixture } from '../helpers/live-iso.js';
import { reefResult } from '../helpers/process.js';
import { requireTool } from '../helpers/tools.js';

/** reef iso against inputs a careless or hostile user gives it: one clear line and a non-zero exit, never a stack trace. */
describe('reef iso with awkward input', () => {
  let dir: string;
  const config = () => join(dir, 'c.ign');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-isohostile-'));
    writeFileSync(config(), JSON.stringify({ ignition: { version: '3.2.0' } }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const oneLine = (r: { stderr: string }) => {
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };
  const withArea = (iso: LiveIsoFixture, bytes: Buffer) => {
    expect(bytes.length).toBeLessThanOrEqual(iso.areaLength);
    const fd = openSync(iso.path, 'r+');
    writeSync(fd, bytes, 0, bytes.length, iso.areaOffset);
    closeSync(fd);
  };

  it('an output directory that does not exist: exit 2 naming --out', async () => {
    if (!requireTool('xorriso')) return;
    const iso = buildLiveIso(dir, 'igninfo', 64 * 1024);
    const r = await reefResult(['iso', 'embed', '--ignition', config(), '--in', iso.path, '--out', join(dir, 'nope', 'out.iso')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out .*: the directory .* does not exist/);
    oneLine(r);
  });

  it('a FIFO as the ISO: exit 2 saying it cannot be read at offsets', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const args of [['iso', 'show', fifo], ['iso', 'embed', '--ignition', config(), '--in', fifo, '--out', join(dir, 'o.iso')]]) {
      const r = await reefResult(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/not a regular file or block device/);
      oneLine(r);
    }
  });

  it('a gzip bomb in the embed area: show exits 1 naming it, without expanding it all', async () => {
    if (!requireTool('xorriso')) return;
    const iso = buildLiveIso(dir, 'igninfo', 64 * 1024);
    withArea(iso, gzipSync(Buffer.alloc(200 * 1024 * 1024)));
    const r = await reefResult(['iso', 'show', iso.path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expands past 67108864 bytes/);
    oneLine(r);
  });

  it('config.ign twice in the area: show prints the last one, the one the kernel leaves in place', async () => {
    if (!requireTool('xorriso')) return;
    const iso = buildLiveIso(dir, 'igninfo', 64 * 1024);
    const first = Buffer.from('{"ignition":{"version":"3.2.0"},"first":true}');
    const last = Buffer.from('{"ignition":{"version":"3.2.0"},"last":true}');
    withArea(iso, gzipSync(writeNewc([{ name: 'config.ign', data: first }, { name: 'config.ign', data: last }])));
    const r = await reefResult(['iso', 'show', iso.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(last.toString());
  });

  it('config.ign that is not a regular file: exit 1, not a config', async () => {
    if (!requireTool('xorriso')) return;
    const iso = buildLiveIso(dir, 'igninfo', 64 * 1024);
    withArea(iso, gzipSync(writeNewc([{ name: 'config.ign', data: Buffer.from('/etc/shadow'), mode: 0o120777 }])));
    const r = await reefResult(['iso', 'show', iso.path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.ign is not a regular file \(mode 120777\)/);
    oneLine(r);
  });
});
