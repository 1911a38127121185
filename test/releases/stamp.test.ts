/** Stamping release values into binaries on the stream (oc adm release extract's rule), whatever the chunking. */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createStampTransform, PLACEHOLDERS, StampError } from '../../src/releases/extract/stamp.js';

const through = async (input: Buffer, chunk: number, values: Parameters<typeof createStampTransform>[0]) => {
  const t = createStampTransform(values);
  const pieces = Array.from({ length: Math.ceil(input.length / chunk) }, (_, i) => input.subarray(i * chunk, (i + 1) * chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(pieces).pipe(t)) out.push(c as Buffer);
  return { bytes: Buffer.concat(out), stamped: t.stamped() };
};

describe('release stamps', () => {
  const image = 'quay.io/openshift-release-dev/ocp-release@sha256:' + 'a'.repeat(64);
  const binary = Buffer.concat([randomBytes(5000), PLACEHOLDERS.releaseImage, randomBytes(3000), PLACEHOLDERS.releaseVersion, randomBytes(10), PLACEHOLDERS.releaseImage, randomBytes(700)]);
  const expected = Buffer.from(binary);
  Buffer.from(`${image}\0`).copy(expected, binary.indexOf(PLACEHOLDERS.releaseImage));
  Buffer.from('4.21.0\0').copy(expected, binary.indexOf(PLACEHOLDERS.releaseVersion));

  it('overwrites the first occurrence of each placeholder with the value and a NUL, however the bytes are cut', async () => {
    for (const chunk of [1, 7, 64, 326, 327, 328, 4096, 1 << 20]) {
      const got = await through(binary, chunk, { releaseImage: image, releaseVersion: '4.21.0' });
      expect(got.bytes.equals(expected), `chunks of ${chunk}`).toBe(true);
      expect(got.stamped.sort()).toEqual(['releaseImage', 'releaseVersion']);
    }
  });

  it('passes a binary without placeholders through unchanged and says nothing was stamped', async () => {
    const plain = randomBytes(9000);
    const got = await through(plain, 1000, { releaseImage: image, releaseArchitecture: 'linux/amd64' });
    expect(got.bytes.equals(plain)).toBe(true);
    expect(got.stamped).toEqual([]);
  });

  it('refuses a value longer than its placeholder less one byte', () => {
    expect(() => createStampTransform({ releaseVersion: 'v'.repeat(93) })).toThrow(StampError);
    expect(() => createStampTransform({ releaseVersion: 'v'.repeat(93) })).toThrow(/93 bytes, but its placeholder holds at most 92/);
    expect(() => createStampTransform({ releaseVersion: 'v'.repeat(92) })).not.toThrow();
    expect(() => createStampTransform({ releaseImage: 'x'.repeat(326) })).not.toThrow();
  });
});
