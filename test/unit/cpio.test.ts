import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CpioError, readNewc, writeNewc } from '../../src/formats/cpio/newc.js';
import { requireTool } from '../helpers/tools.js';

const noise = (length: number): Buffer => randomBytes(length);

const cpio = (args: string[], cwd: string, input?: Buffer) => {
  const r = spawnSync('cpio', args, { cwd, input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`cpio ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
};

const CONFIG = Buffer.from(JSON.stringify({ ignition: { version: '3.2.0' }, storage: { files: [{ path: '/etc/motd', mode: 420 }] } }));

describe('newc cpio', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-cpio-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes archives that GNU cpio lists and extracts with the same names, bytes and modes', () => {
    if (!requireTool('cpio')) return;
    const entries = [
      { name: 'config.ign', data: CONFIG },
      { name: 'etc', data: Buffer.alloc(0), mode: 0o040750 },
      { name: 'etc/odd-name.conf', data: Buffer.from('a=1\n'), mode: 0o600 },
      { name: 'usr/local/bin/load.sh', data: Buffer.from('#!/bin/bash\necho hi\n'), mode: 0o755 },
      { name: 'empty', data: Buffer.alloc(0) },
      { name: 'blob.bin', data: noise(100_003) },
    ];
    const archive = writeNewc(entries, { blockSize: 512 });
    expect(archive.length % 512).toBe(0);

    const listed = cpio(['-t', '--quiet'], dir, archive).toString().trim().split('\n');
    expect(listed).toEqual(entries.map((e) => e.name));

    const out = join(dir, 'out');
    mkdirSync(out);
    cpio(['-i', '-d', '--quiet', '--no-absolute-filenames'], out, archive);
    for (const e of entries) {
      const st = statSync(join(out, e.name));
      if (e.mode === 0o040750) {
        expect(st.isDirectory()).toBe(true);
        expect(st.mode & 0o7777).toBe(0o750);
        continue;
      }
      expect(st.isFile()).toBe(true);
      expect(readFileSync(join(out, e.name)).equals(e.data)).toBe(true);
      expect(st.mode & 0o7777).toBe(e.mode ?? 0o644);
    }
  });

  it('reads archives written by `cpio -o -H newc`', () => {
    if (!requireTool('cpio')) return;
    const src = join(dir, 'src');
    mkdirSync(join(src, 'a/b'), { recursive: true });
    writeFileSync(join(src, 'config.ign'), CONFIG);
    writeFileSync(join(src, 'a/b/data.bin'), noise(70_001));
    writeFileSync(join(src, 'a/x'), 'x');
    chmodSync(join(src, 'a/x'), 0o751);
    const names = ['config.ign', 'a', 'a/b', 'a/b/data.bin', 'a/x'];
    const archive = cpio(['-o', '-H', 'newc', '--quiet'], src, Buffer.from(`${names.join('\n')}\n`));

    const members = readNewc(archive);
    expect(members.map((m) => m.name)).toEqual(names);
    const byName = new Map(members.map((m) => [m.name, m]));
    expect(byName.get('config.ign')!.data.equals(CONFIG)).toBe(true);
    expect(byName.get('a/b/data.bin')!.data.equals(readFileSync(join(src, 'a/b/data.bin')))).toBe(true);
    expect(byName.get('a/x')!.mode).toBe(0o100751);
    expect(byName.get('a/b')!.mode & 0o170000).toBe(0o040000);
    expect(byName.get('config.ign')!.mtime).toBe(Math.floor(statSync(join(src, 'config.ign')).mtimeMs / 1000));
  });

  it('round-trips its own archives', () => {
    const x = noise(5);
    const entries = [
      { name: 'config.ign', data: CONFIG, mtime: 1_700_000_000 },
      { name: 'x', data: x, mode: 0o100640 },
    ];
    const back = readNewc(writeNewc(entries));
    expect(back).toEqual([
      { name: 'config.ign', data: CONFIG, mode: 0o100644, mtime: 1_700_000_000 },
      { name: 'x', data: x, mode: 0o100640, mtime: 0 },
    ]);
  });

  it('refuses damaged archives and invalid entries with a CpioError', () => {
    const archive = writeNewc([{ name: 'config.ign', data: CONFIG }]);
    expect(() => readNewc(archive.subarray(0, 200))).toThrow(/runs past the end|truncated/);
    expect(() => readNewc(archive.subarray(0, archive.length - 130))).toThrow(CpioError);
    const bad = Buffer.from(archive);
    bad.write('070707', 0, 'ascii');
    expect(() => readNewc(bad)).toThrow(/bad magic "070707"/);
    expect(() => writeNewc([{ name: '', data: CONFIG }])).toThrow(/invalid name/);
    expect(() => writeNewc([{ name: 'd', data: CONFIG, mode: 0o040755 }])).toThrow(/directory but has data/);
  });
});
