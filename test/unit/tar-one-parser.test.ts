import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractRootfs } from '../../src/maintenance-os/extract.js';
import { padBlock, paxRecord, tarHeader, type TarHeaderOptions } from '../helpers/tar.js';

/**
 * Archives on which a name checker and GNU tar, each parsing the bytes on its own, disagree:
 * built byte by byte, extracted by the agent's real path (reef parses, re-writes every header,
 * GNU tar extracts what reef wrote). What reef checked is what lands, or nothing does.
 */
const dir = mkdtempSync(join(tmpdir(), 'reef-oneparser-'));
const outside = join(dir, 'outside');
mkdirSync(outside);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string, opts: TarHeaderOptions = {}) => [tarHeader(name, '0', Buffer.byteLength(content), opts), padBlock(Buffer.from(content))];
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
      tarHeader('lib', '2', 0, { fmt: 'oldgnu', linkname: outside, prefixArea: 'pfx' }),
      ...file('lib/pwned', 'written through a symlink\n'),
      end,
    ]);
    expect(result).toMatch(/refusing tar member "lib\/pwned": path through the symlink lib/);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a global pax header naming a path does not rename the members GNU tar writes', async () => {
    const g = Buffer.from(paxRecord('path', '../escaped-by-global'));
    const { root, result } = await extract('global', [
      tarHeader('pax_global_header', 'g', g.length),
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
    const sparse = await extract('sparse', [tarHeader('big.img', 'S', 0), end]);
    expect(sparse.result).toMatch(/member type "S" \(GNU sparse file\) is not taken/);
    const vendor = await extract('vendor', [tarHeader('x', 'Z', 0), end]);
    expect(vendor.result).toMatch(/member type "Z" is not taken/);
  });

  it('keeps what a real rootfs needs: setuid modes, symlinks, hard links', async () => {
    const { root, result } = await extract('keeps', [
      tarHeader('usr/', '5', 0, { mode: 0o755 }),
      tarHeader('usr/bin/', '5', 0, { mode: 0o755 }),
      ...file('usr/bin/su', '#!/bin/true\n', { mode: 0o4755 }),
      tarHeader('usr/bin/su2', '1', 0, { linkname: 'usr/bin/su' }),
      tarHeader('usr/bin/sh', '2', 0, { linkname: 'su' }),
      end,
    ]);
    expect(result).toBe('extracted');
    expect(lstatSync(join(root, 'usr/bin/su')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(root, 'usr/bin/su2')).ino).toBe(lstatSync(join(root, 'usr/bin/su')).ino);
    expect(readlinkSync(join(root, 'usr/bin/sh'))).toBe('su');
  });
});
