import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeXz } from '../../src/formats/xz/xz.js';
import { le32 } from '../helpers/bytes.js';
import { requireTool } from '../helpers/tools.js';

/**
 * Seeded mutation fuzz of reef's .xz decoder with `xz -t` as the oracle: streams xz wrote, one to
 * three bytes changed, and (for half of them) every CRC32 of the container's headers, index and
 * footer recomputed, so the mutants reach the rules behind the checksums. A mutant reef accepts
 * must be one xz accepts too, with the same bytes out. Deterministic: the same seed, the same
 * mutants, every run.
 */
const SEED = 0x5eef;
const MUTANTS = 1500;

const dir = mkdtempSync(join(tmpdir(), 'reef-xzfuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: a small seeded PRNG. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};


/** Recomputes the container's CRC32s where their fields still parse: stream header, block header, index, footer. */
const fixCrcs = (x: Buffer): Buffer => {
  const b = Buffer.from(x);
  if (b.length < 24) return b;
  le32(crc32(b.subarray(6, 8))).copy(b, 8);
  const hdrLen = (b[12]! + 1) * 4;
  if (b[12] !== 0 && 12 + hdrLen <= b.length - 12) le32(crc32(b.subarray(12, 12 + hdrLen - 4))).copy(b, 12 + hdrLen - 4);
  const backward = (b.readUInt32LE(b.length - 8) + 1) * 4;
  const indexStart = b.length - 12 - backward;
  if (indexStart > 12 && indexStart + backward - 4 >= indexStart) le32(crc32(b.subarray(indexStart, b.length - 16))).copy(b, b.length - 16);
  le32(crc32(b.subarray(b.length - 8, b.length - 2))).copy(b, b.length - 12);
  return b;
};

const xzSays = (bytes: Buffer, i: number): Buffer | null => {
  const f = join(dir, `m${i}.xz`);
  writeFileSync(f, bytes);
  const r = spawnSync('xz', ['-d', '-c', f], { maxBuffer: 64 * 1024 * 1024 });
  return r.status === 0 ? r.stdout : null;
};

describe('xz decoder under seeded mutation, xz as the oracle', () => {
  it(`${MUTANTS} mutants: reef never accepts what xz refuses, nor decodes other bytes`, () => {
    if (!requireTool('xz')) return;
    const sources = [
      Buffer.from('reef pre-stages factory nodes. '.repeat(300)),
      Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)),
      Buffer.from(JSON.stringify({ ignition: { version: '3.2.0' }, storage: { files: [{ path: '/etc/x', contents: { source: 'data:,x' } }] } })),
    ];
    const streams = sources.flatMap((s) =>
      ['crc32', 'crc64', 'sha256', 'none'].map((check) => execFileSync('xz', [`--check=${check}`, '-z', '-c', '-6'], { input: s })),
    );
    const random = rng(SEED);
    const disagreements: string[] = [];
    let reefAccepted = 0;
    let xzAccepted = 0;
    for (let i = 0; i < MUTANTS; i++) {
      const base = streams[i % streams.length]!;
      let m: Buffer = Buffer.from(base);
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * m.length);
        const kind = random();
        if (kind < 0.6) m[at] = m[at]! ^ (1 << Math.floor(random() * 8));
        else if (kind < 0.9) m[at] = Math.floor(random() * 256);
        else m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1)]);
      }
      if (random() < 0.5) m = fixCrcs(m);
      let ours: Buffer | null;
      try {
        ours = decodeXz(m);
      } catch {
        ours = null;
      }
      const theirs = xzSays(m, i);
      if (theirs !== null) xzAccepted++;
      if (ours === null) continue;
      reefAccepted++;
      if (theirs === null) disagreements.push(`mutant ${i}: reef accepted what xz refuses (${m.toString('hex').slice(0, 64)}…)`);
      else if (!theirs.equals(ours)) disagreements.push(`mutant ${i}: reef and xz decode different bytes`);
    }
    console.log(`xz fuzz: ${MUTANTS} mutants, xz accepted ${xzAccepted}, reef accepted ${reefAccepted}`);
    expect(disagreements).toEqual([]);
    // The mutants must reach both verdicts, or the oracle decides nothing.
    expect(xzAccepted).toBeGreaterThan(0);
    expect(xzAccepted).toBeLessThan(MUTANTS);
  });
});
