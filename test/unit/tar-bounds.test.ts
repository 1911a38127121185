import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_MEMBER_NAME, unsafeMember } from '../../src/maintenance-os/extract.js';
import { createTarCanonicalizer as createTarScanner, MAX_META_BYTES, type TarMember } from '../../src/maintenance-os/tar-canonical.js';

/** A ustar header block: name, type, size (octal), checksum filled in. */
const header = (name: string, type: string, size: number): Buffer => {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
};
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const paxRecord = (key: string, value: string) => {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
  return `${len}${body}`;
};

describe('bounded work on crafted tar archives', () => {
  it('a pax header claiming 1 GiB is refused at its header, not buffered', () => {
    const s = createTarScanner(() => {});
    expect(() => s.push(Buffer.concat([header('./PaxHeaders/x', 'x', 2 ** 30), Buffer.alloc(64 * 1024, 0x31)]))).toThrow(`at most ${MAX_META_BYTES} are taken`);
  });

  it('a GNU long name of 2 MiB is refused the same way', () => {
    const s = createTarScanner(() => {});
    expect(() => s.push(header('././@LongLink', 'L', 2 * 1024 * 1024))).toThrow(/GNU long name of 2097152 bytes/);
  });

  it('a member name of 30,000 components, from a 60 KB pax path in a tiny gzipped tar, is refused at once', () => {
    const path = 'a/'.repeat(30_000) + 'x';
    const pax = Buffer.from(paxRecord('path', path));
    const archive = Buffer.concat([header('./PaxHeaders/x', 'x', pax.length), pad(pax), header('x', '0', 0), Buffer.alloc(1024)]);
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
