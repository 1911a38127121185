import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { padBlock, paxRecord, tarHeader } from '../helpers/tar.js';
import { createTarCanonicalizer as createTarScanner, type TarMember } from '../../src/maintenance-os/tar-canonical.js';

/** Members GNU tar wrote, seen by the scanner when fed in chunks of `size` bytes. */
const scan = (archive: Buffer, size: number) => {
  const seen: TarMember[] = [];
  const s = createTarScanner((m) => seen.push(m));
  for (let i = 0; i < archive.length; i += size) s.push(archive.subarray(i, i + size));
  return { seen, ended: s.ended };
};

describe('tar scanner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-tarscan-'));
  const tree = join(dir, 't');
  const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
  mkdirSync(join(tree, 'd'.repeat(120)), { recursive: true });
  writeFileSync(join(tree, long), 'x'.repeat(1000));
  writeFileSync(join(tree, 'small'), 'hello');
  symlinkSync(`/usr/${'t'.repeat(150)}`, join(tree, 'link'));
  const names = (m: TarMember[]) => m.map((x) => `${x.type} ${x.name}${x.linkname ? ` -> ${x.linkname}` : ''}`).sort();
  const expected = [
    '0 ./small',
    `0 ./${long}`,
    `2 ./link -> /usr/${'t'.repeat(150)}`,
    '5 ./',
    `5 ./${'d'.repeat(120)}/`,
  ].sort();

  for (const format of ['gnu', 'pax']) {
    it(`reads the member names GNU tar writes in ${format} format (long names and link targets), whatever the chunk size`, () => {
      const archive = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', tree, '.'], { maxBuffer: 1 << 26 });
      for (const size of [1, 7, 512, 513, 65536]) {
        const { seen, ended } = scan(archive, size);
        expect(names(seen)).toEqual(expected);
        expect(ended).toBe(true);
      }
    });
  }

  it('joins the ustar prefix and name fields', () => {
    const deep = `${'p'.repeat(90)}/${'n'.repeat(60)}`;
    mkdirSync(join(tree, 'p'.repeat(90)), { recursive: true });
    writeFileSync(join(tree, deep), 'y');
    const archive = execFileSync('tar', ['--format=ustar', '-cf', '-', '-C', tree, deep]);
    expect(scan(archive, 100).seen.map((m) => m.name)).toEqual([deep]);
  });

  it('reports a truncated archive as not ended', () => {
    const archive = execFileSync('tar', ['-cf', '-', '-C', tree, 'small']);
    expect(scan(archive.subarray(0, 1024), 512).ended).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});


describe('tar scanner and pax sizes', () => {
  it('takes a member size from its pax header, as tar does, and so still sees the members after it', () => {
    const pax = Buffer.from(paxRecord('size', '1024'));
    const archive = Buffer.concat([
      tarHeader('PaxHeaders/big', 'x', pax.length),
      padBlock(pax),
      tarHeader('big', '0', 0), // the ustar field says 0; the pax record says 1024
      Buffer.alloc(1024),
      tarHeader('/etc/evil', '0', 0),
      Buffer.alloc(1024),
    ]);
    expect(execFileSync('tar', ['-tf', '-'], { input: archive, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] }).trim().split('\n')).toEqual(['big', '/etc/evil']);
    const { seen, ended } = scan(archive, 100);
    expect(seen.map((m) => m.name)).toEqual(['big', '/etc/evil']);
    expect(ended).toBe(true);
  });
});
