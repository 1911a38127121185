/**
 * The .xz container (tukaani .xz file format 1.x): stream header and footer, blocks with an
 * LZMA2 filter, the index, CRC32s. `encodeXz` writes one block of LZMA2 (LZMA-compressed chunks,
 * stored ones where data does not shrink) with a CRC32 check (what the Linux initramfs unpacker and `xz -d` accept); `decodeXz` reads what
 * `xz` and coreos-installer write (LZMA2 with LZMA chunks; CRC32, CRC64, SHA-256 or no check),
 * including concatenated streams and zero stream padding.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Output, XzFormatError } from './lzma-decoder.js';
import { decodeLzma2, encodeLzma2 } from './lzma2.js';

export { XzFormatError } from './lzma-decoder.js';

const HEADER_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const FOOTER_MAGIC = Buffer.from([0x59, 0x5a]);
const FILTER_LZMA2 = 0x21;
const CHECK_NONE = 0x00;
const CHECK_CRC32 = 0x01;
const CHECK_CRC64 = 0x04;
const CHECK_SHA256 = 0x0a;
const CHECK_SIZES: Record<number, number> = { [CHECK_NONE]: 0, [CHECK_CRC32]: 4, [CHECK_CRC64]: 8, [CHECK_SHA256]: 32 };

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const crcOf = (b: Uint8Array) => le32(crc32(b));

const vli = (n: number): Buffer => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
};

const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

/** Smallest LZMA2 dictionary-size byte whose size holds `n` bytes (at least 4 KiB). */
const dictByte = (n: number): number => {
  for (let p = 0; p < 40; p++) if ((2 | (p & 1)) * 2 ** (Math.floor(p / 2) + 11) >= n) return p;
  return 40;
};

/** One .xz stream with a CRC32 check holding `data` in one LZMA2 block (LZMA chunks, stored where they would not shrink). */
export const encodeXz = (data: Uint8Array): Buffer => {
  const flags = Buffer.from([0x00, CHECK_CRC32]);
  const streamHeader = Buffer.concat([HEADER_MAGIC, flags, crcOf(flags)]);
  // Block header: size byte, flags (one filter, no sizes), LZMA2 filter flags, padding, CRC32.
  const body = Buffer.concat([Buffer.from([0x00]), vli(FILTER_LZMA2), vli(1), Buffer.from([dictByte(data.length)])]);
  const headerLen = 1 + body.length + pad4(1 + body.length).length + 4;
  const headerNoCrc = Buffer.concat([Buffer.from([headerLen / 4 - 1]), body, pad4(1 + body.length)]);
  const blockHeader = Buffer.concat([headerNoCrc, crcOf(headerNoCrc)]);
  const compressed = encodeLzma2(data);
  const unpadded = blockHeader.length + compressed.length + 4;
  const block = Buffer.concat([blockHeader, compressed, pad4(compressed.length), crcOf(data)]);
  const indexBody = Buffer.concat([Buffer.from([0x00]), vli(1), vli(unpadded), vli(data.length)]);
  const indexNoCrc = Buffer.concat([indexBody, pad4(indexBody.length)]);
  const index = Buffer.concat([indexNoCrc, crcOf(indexNoCrc)]);
  const footerBody = Buffer.concat([le32(index.length / 4 - 1), flags]);
  const footer = Buffer.concat([crcOf(footerBody), footerBody, FOOTER_MAGIC]);
  return Buffer.concat([streamHeader, block, index, footer]);
};

/** True when `buf` starts with the .xz magic. */
export const isXz = (buf: Uint8Array): boolean => Buffer.from(buf.subarray(0, 6)).equals(HEADER_MAGIC);

const crc64Table = (() => {
  const poly = 0xc96c5795d7870f42n;
  return Array.from({ length: 256 }, (_, i) => {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ poly : c >> 1n;
    return c;
  });
})();
const crc64 = (data: Uint8Array): Buffer => {
  let c = 0xffffffffffffffffn;
  for (const byte of data) c = crc64Table[Number((c ^ BigInt(byte)) & 0xffn)]! ^ (c >> 8n);
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(c ^ 0xffffffffffffffffn);
  return out;
};

const checkValue = (type: number, data: Uint8Array): Buffer => {
  if (type === CHECK_CRC32) return crcOf(data);
  if (type === CHECK_CRC64) return crc64(data);
  if (type === CHECK_SHA256) return createHash('sha256').update(data).digest();
  return Buffer.alloc(0);
};

class Cursor {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
  ) {}
  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new XzFormatError('truncated .xz data');
    const out = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return out;
  }
  vli(): number {
    let n = 0;
    for (let i = 0; i < 9; i++) {
      const b = this.take(1)[0]!;
      n += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return n;
    }
    throw new XzFormatError('corrupt .xz data: variable-length integer too long');
  }
}

const expectCrc = (what: string, data: Uint8Array, stored: Buffer) => {
  if (!crcOf(data).equals(stored)) throw new XzFormatError(`corrupt .xz data: ${what} CRC32 mismatch`);
};

/** Reads one block at the cursor; returns its unpadded and uncompressed sizes. */
const readBlock = (cur: Cursor, check: number, out: Output): { unpadded: number; uncompressed: number } => {
  const headerStart = cur.pos;
  const headerLen = (cur.take(1)[0]! + 1) * 4;
  cur.pos = headerStart;
  const header = cur.take(headerLen);
  expectCrc('block header', header.subarray(0, headerLen - 4), header.subarray(headerLen - 4));
  const h = new Cursor(header.subarray(0, headerLen - 4), 1);
  const flags = h.take(1)[0]!;
  if (flags & 0x3c) throw new XzFormatError('unsupported .xz block flags');
  const compressedSize = flags & 0x40 ? h.vli() : undefined;
  const uncompressedSize = flags & 0x80 ? h.vli() : undefined;
  if ((flags & 3) !== 0) throw new XzFormatError('unsupported .xz filter chain: only a single LZMA2 filter is supported');
  const id = h.vli();
  const propsLen = h.vli();
  const props = h.take(propsLen);
  if (id !== FILTER_LZMA2 || propsLen !== 1 || props[0]! > 40) throw new XzFormatError(`unsupported .xz filter 0x${id.toString(16)} (only LZMA2)`);
  if (h.buf.subarray(h.pos).some((b) => b !== 0)) throw new XzFormatError('corrupt .xz data: non-zero block header padding');
  const start = out.length;
  const dataStart = cur.pos;
  cur.pos = decodeLzma2(cur.buf, dataStart, cur.buf.length, out);
  const compressed = cur.pos - dataStart;
  const uncompressed = out.length - start;
  if ((compressedSize !== undefined && compressedSize !== compressed) || (uncompressedSize !== undefined && uncompressedSize !== uncompressed)) {
    throw new XzFormatError('corrupt .xz data: block sizes do not match its header');
  }
  if (cur.take((4 - (compressed % 4)) % 4).some((b) => b !== 0)) throw new XzFormatError('corrupt .xz data: non-zero block padding');
  const stored = cur.take(CHECK_SIZES[check]!);
  if (!checkValue(check, out.buf.subarray(start, out.length)).equals(stored)) throw new XzFormatError('corrupt .xz data: check of the uncompressed data mismatch');
  return { unpadded: headerLen + compressed + stored.length, uncompressed };
};

const readStream = (cur: Cursor, out: Output): void => {
  const header = cur.take(12);
  if (!header.subarray(0, 6).equals(HEADER_MAGIC)) throw new XzFormatError('not .xz data (bad magic)');
  const flags = header.subarray(6, 8);
  expectCrc('stream header', flags, header.subarray(8, 12));
  const check = flags[1]!;
  if (flags[0] !== 0 || CHECK_SIZES[check] === undefined) throw new XzFormatError(`unsupported .xz check type ${check}`);
  const blocks: { unpadded: number; uncompressed: number }[] = [];
  while (cur.buf[cur.pos] !== 0x00) blocks.push(readBlock(cur, check, out));
  const indexStart = cur.pos;
  cur.take(1);
  const count = cur.vli();
  if (count !== blocks.length) throw new XzFormatError('corrupt .xz data: index does not match the blocks');
  for (const b of blocks) {
    if (cur.vli() !== b.unpadded || cur.vli() !== b.uncompressed) throw new XzFormatError('corrupt .xz data: index does not match the blocks');
  }
  if (cur.take((4 - ((cur.pos - indexStart) % 4)) % 4).some((b) => b !== 0)) throw new XzFormatError('corrupt .xz data: non-zero index padding');
  const indexLen = cur.pos - indexStart;
  expectCrc('index', cur.buf.subarray(indexStart, cur.pos), cur.take(4));
  const footer = cur.take(12);
  expectCrc('stream footer', footer.subarray(4, 10), footer.subarray(0, 4));
  if (!footer.subarray(10, 12).equals(FOOTER_MAGIC) || !footer.subarray(8, 10).equals(flags)) throw new XzFormatError('corrupt .xz data: bad stream footer');
  if ((footer.readUInt32LE(4) + 1) * 4 !== indexLen + 4) throw new XzFormatError('corrupt .xz data: footer backward size mismatch');
};

/**
 * Decodes .xz data followed by any amount of zero padding (as in an embed area). Output is
 * limited to `maxOutput` bytes so a hostile image cannot exhaust memory.
 */
export const decodeXz = (input: Uint8Array, maxOutput = 64 * 1024 * 1024): Buffer => {
  const out = new Output(maxOutput);
  const cur = new Cursor(input, 0);
  for (;;) {
    readStream(cur, out);
    const padStart = cur.pos;
    while (cur.pos < input.length && input[cur.pos] === 0) cur.pos++;
    // The zeros that fill an embed area to its end are not the format's; padding between two
    // streams is, and comes in whole 4-byte units (xz -t refuses anything else).
    if (cur.pos >= input.length) break;
    if ((cur.pos - padStart) % 4 !== 0) throw new XzFormatError('corrupt .xz data: stream padding is not a multiple of 4 bytes');
  }
  return Buffer.from(out.buf.subarray(0, out.length));
};
