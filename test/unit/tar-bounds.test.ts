import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_MEMBER_NAME, unsafeMember } from '../../src/maintenance-os/extract.js';
import { padBlock, paxRecord, tarHeader } from '../helpers/tar.js';
import { createTarCanonicalizer as createTarScanner, MAX_META_BYTES, type TarMember } from '../../src/maintenance-os/tar-canonical.js';

describe('bounded work on crafted tar archives', () => {
  it('a pax header claiming 1 GiB is refused at its header, not buffered', () => {
    const s = createTarScanner(() => {});
    expect(() => s.push(Buffer.concat([tarHeader('./PaxHeaders/x', 'x', 2 ** 30), Buffer.alloc(64 * 1024, 0x31)]))).toThrow(`at most ${MAX_META_BYTES} are taken`);
  });

  it('a GNU long name of 2 MiB is refused the same way', () => {
    const s = createTarScanner(() => {});
    expect(() => s.push(tarHeader('././@LongLink', 'L', 2 * 1024 * 1024))).toThrow(/GNU long name of 2097152 bytes/);
  });

  it('a member name of 30,000 components, from a 60 KB pax path in a tiny gzipped tar, is refused at once', () => {
    const path = 'a/'.repeat(30_000) + 'x';
    const pax = Buffer.from(paxRecord('path', path));
    const archive = Buffer.concat([tarHeader('./PaxHeaders/x', 'x', pax.length), padBlock(pax), tarHeader('x', '0', 0), Buffer.alloc(1024)]);
    expect(gzipSync(archive).length).toBeLessThan(1024); // what travels is tiny
    const seen: TarMember[] = [];
    createTarScanner((m) => seen.push(m)).push(archive);
    expect(seen.map((m) => m.name.length)).toEqual([path.length]);
    // Refused by the length check that comes before any per-component work (before the cap, the
    // prefix checks for this name ran for minutes and then let it through).
    expect(unsafeMember(seen[0]!.name, new Set(['b', 'c/d']))).toBe(`name of ${path.length} bytes, over ${MAX_MEMBER_NAME} (PATH_MAX)`);
  });

  it('names up to PATH_MAX are still checked component by component', () => {
    const deep = 'a/'.repeat(2000) + 'x';
    expect(Buffer.byteLength(deep)).toBeLessThanOrEqual(MAX_MEMBER_NAME);
    expect(unsafeMember(deep, new Set())).toBeNull();
    expect(unsafeMember(deep, new Set(['a/a/a']))).toBe('path through the symlink a/a/a');
  });
});
