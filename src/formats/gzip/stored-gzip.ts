import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';

/** Largest stored deflate block (RFC 1951 §3.2.4: LEN is 16 bits). */
const MAX_BLOCK = 65535;
/** gzip member header (RFC 1952 §2.3): magic, CM=8 (deflate), no flags, MTIME 0, XFL 0, OS 3 (Unix). */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

/**
 * A gzip stream of stored (uncompressed) deflate blocks: what `gzip -0` would write, produced
 * without zlib. Every reader of gzip takes it. For data that is already compressed (container
 * image layers) it costs a CRC-32 and one copy instead of a deflate pass: each input chunk
 * becomes one output buffer of 5-byte block headers and the bytes themselves.
 */
export const createStoredGzip = (): Transform => {
  let crc = 0;
  let size = 0;
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (chunk.length === 0) return cb();
      crc = crc32(chunk, crc);
      size = (size + chunk.length) % 2 ** 32;
      const blocks = Math.ceil(chunk.length / MAX_BLOCK);
      const head = started ? 0 : HEADER.length;
      const out = Buffer.allocUnsafe(head + chunk.length + blocks * 5);
      let o = 0;
      if (!started) {
        HEADER.copy(out, 0);
        o = HEADER.length;
        started = true;
      }
      for (let i = 0; i < chunk.length; i += MAX_BLOCK) {
        const len = Math.min(MAX_BLOCK, chunk.length - i);
        out[o] = 0; // BFINAL 0, BTYPE 00 (stored), padded to the byte boundary
        out.writeUInt16LE(len, o + 1);
        out.writeUInt16LE(~len & 0xffff, o + 3);
        chunk.copy(out, o + 5, i, i + len);
        o += 5 + len;
      }
      cb(null, out);
    },
    flush(cb: TransformCallback) {
      const tail = Buffer.alloc((started ? 0 : HEADER.length) + 5 + 8);
      let o = 0;
      if (!started) o = HEADER.copy(tail, 0);
      tail[o] = 1; // the final block: empty, stored
      tail.writeUInt16LE(0, o + 1);
      tail.writeUInt16LE(0xffff, o + 3);
      tail.writeUInt32LE(crc >>> 0, o + 5);
      tail.writeUInt32LE(size >>> 0, o + 9);
      cb(null, tail);
    },
  });
};
