import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractRootfs } from '../../src/maintenance-os/extract.js';

/**
 * Archives on which a name checker and GNU tar, each parsing the bytes on its own, disagree:
 * built byte by byte, extracted by the agent's real path (reef parses, re-writes every header,
 * GNU tar extracts what reef wrote). What reef checked is what lands, or nothing does.
 */
const dir = mkdtempSync(join(tmpdir(), 'reef-oneparser-'));
const outside = join(dir, 'outside');
mkdirSync(outside);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Fmt = 'posix' | 'oldgnu';
const block = (name: string, type: string, size: number, opts: { fmt?: Fmt; linkname?: string; prefixArea?: string; mode?: number } = {}): Buffer => {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${(opts.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  if (opts.linkname) h.write(opts.linkname, 157, 100, 'utf8');
  if ((opts.fmt ?? 'posix') === 'posix') {
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
  } else {
    h.write('ustar  \0', 257, 'latin1'); // old GNU: bytes 345.. hold other fields, not a name prefix
  }
  if (opts.prefixArea) h.write(opts.prefixArea, 345, 155, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
};
const file = (name: string, content: string, opts: { fmt?: Fmt; prefixArea?: string; mode?: number } = {}) => {
  const data = Buffer.from(content);
  return [block(name, '0', data.length, opts), data, Buffer.alloc((512 - (data.length % 512)) % 512)];
};
const end = Buffer.alloc(1024);
const extract = async (name: string, parts: Buffer[]) => {
  const root = join(dir, name);
  mkdirSync(root);
  const archive = Buffer.concat(parts);
  async function* once() {
    yield archive;
  }
  const result = await extractRootfs(once(), root, () => {}).then(
    () => 'extracted',
    (err: Error) => err.message,
  );
  return { root, result };
};

describe('one parser for the rootfs tar', () => {
  it('old GNU headers: a checker that read their prefix area as a name was led past a symlink escape', async () => {
    // A symlink "lib" -> outside in old GNU format, with "pfx" in the area POSIX uses for a prefix
    // (a checker reading it takes the member for "pfx/lib"), then "lib/pwned" through it.
    const { root, result } = await extract('oldgnu', [
      block('lib', '2', 0, { fmt: 'oldgnu', linkname: outside, prefixArea: 'pfx' }),
      ...file('lib/pwned', 'written through a symlink\n'),
      end,
    ]);
    expect(result).toMatch(/refusing tar member "lib\/pwned": path through the symlink lib/);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a global pax header naming a path does not rename the members GNU tar writes', async () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let len = body.length + 1;
      while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
      return `${len}${body}`;
    };
    const g = Buffer.from(rec('path', '../escaped-by-global'));
    const { root, result } = await extract('global', [
      block('pax_global_header', 'g', g.length),
      g,
      Buffer.alloc(512 - g.length),
      ...file('etc/hostname', 'node01\n'),
      end,
    ]);
    expect(result).toBe('extracted');
    expect(readFileSync(join(root, 'etc/hostname'), 'utf8')).toBe('node01\n');
    expect(existsSync(join(dir, 'escaped-by-global'))).toBe(false);
  });

  it('GNU sparse members and vendor types are refused, naming the type', async () => {
    const sparse = await extract('sparse', [block('big.img', 'S', 0), end]);
    expect(sparse.result).toMatch(/member type "S" \(GNU sparse file\) is not taken/);
    const vendor = await extract('vendor', [block('x', 'Z', 0), end]);
    expect(vendor.result).toMatch(/member type "Z" is not taken/);
  });

  it('keeps what a real rootfs needs: setuid modes, symlinks, hard links', async () => {
    const { root, result } = await extract('keeps', [
      block('usr/', '5', 0, { mode: 0o755 }),
      block('usr/bin/', '5', 0, { mode: 0o755 }),
      ...file('usr/bin/su', '#!/bin/true\n', { mode: 0o4755 }),
      block('usr/bin/su2', '1', 0, { linkname: 'usr/bin/su' }),
      block('usr/bin/sh', '2', 0, { linkname: 'su' }),
      end,
    ]);
    expect(result).toBe('extracted');
    expect(lstatSync(join(root, 'usr/bin/su')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(root, 'usr/bin/su2')).ino).toBe(lstatSync(join(root, 'usr/bin/su')).ino);
    expect(readlinkSync(join(root, 'usr/bin/sh'))).toBe('su');
  });
});
