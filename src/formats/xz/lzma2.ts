/**
 * LZMA2 chunk layer (filter id 0x21 in .xz): a sequence of chunks, each either stored
 * (control 0x01 with a dictionary reset, 0x02 without) or LZMA-compressed (control 0x80-0xFF:
 * bits 5-6 say what is reset, bits 0-4 the high bits of the unpacked size), ended by 0x00.
 */
import { LzmaDecoder, Output } from './lzma-decoder.js';
import { LzmaEncoder } from './lzma-encoder.js';
import { XzFormatError, parseProps, propsByte } from './lzma-model.js';

/** Largest stored chunk LZMA2 allows. */
export const LZMA2_STORED_MAX = 64 * 1024;

/** Decodes LZMA2 data starting at `start`; returns the output and where the end marker ended. */
export const decodeLzma2 = (input: Uint8Array, start: number, end: number, out: Output): number => {
  const lzma = new LzmaDecoder();
  let pos = start;
  let needDictReset = true;
  let needProps = true;
  const need = (n: number) => {
    if (pos + n > end) throw new XzFormatError('truncated LZMA2 data');
  };
  for (;;) {
    need(1);
    const control = input[pos++]!;
    if (control === 0x00) return pos;
    if (control === 0x01 || control === 0x02) {
      need(2);
      const size = ((input[pos]! << 8) | input[pos + 1]!) + 1;
      pos += 2;
      if (control === 0x01) {
        out.dictStart = out.length;
        needDictReset = false;
        // As liblzma: a dictionary reset means the next LZMA chunk must set new properties.
        needProps = true;
      } else if (needDictReset) {
        throw new XzFormatError('corrupt LZMA2 data: first chunk does not reset the dictionary');
      }
      need(size);
      out.append(input.subarray(pos, pos + size));
      pos += size;
      continue;
    }
    if (control < 0x80) throw new XzFormatError(`corrupt LZMA2 data: invalid control byte 0x${control.toString(16)}`);
    need(4);
    const unpacked = (control & 0x1f) * 65536 + ((input[pos]! << 8) | input[pos + 1]!) + 1;
    const packed = ((input[pos + 2]! << 8) | input[pos + 3]!) + 1;
    pos += 4;
    const reset = (control >>> 5) & 3;
    if (reset === 3) {
      out.dictStart = out.length;
      needDictReset = false;
    } else if (needDictReset) {
      throw new XzFormatError('corrupt LZMA2 data: first chunk does not reset the dictionary');
    }
    if (reset >= 2) {
      need(1);
      lzma.setProps(parseProps(input[pos++]!));
      needProps = false;
    } else if (needProps) {
      throw new XzFormatError('corrupt LZMA2 data: LZMA chunk without properties');
    }
    if (reset >= 1) lzma.resetState();
    need(packed);
    lzma.decodeChunk(input, pos, pos + packed, unpacked, out);
    pos += packed;
  }
};

/** Uncompressed bytes per LZMA chunk; its compressed form must stay within 64 KiB. */
const LZMA_CHUNK = 64 * 1024;
const LZMA_CHUNK_PACKED_MAX = 64 * 1024;
const PROPS = { lc: 3, lp: 0, pb: 2 };

const storedChunks = (data: Uint8Array, start: number, end: number, dictReset: boolean): Buffer[] => {
  const out: Buffer[] = [];
  for (let off = start; off < end; off += LZMA2_STORED_MAX) {
    const part = data.subarray(off, Math.min(end, off + LZMA2_STORED_MAX));
    out.push(Buffer.from([dictReset && off === start ? 0x01 : 0x02, (part.length - 1) >>> 8, (part.length - 1) & 0xff]), Buffer.from(part));
  }
  return out;
};

/**
 * LZMA2 data for `data` (lc=3 lp=0 pb=2): LZMA chunks of 64 KiB sharing one dictionary, each
 * stored instead when it would not shrink, ended by the 0x00 marker.
 */
export const encodeLzma2 = (data: Uint8Array): Buffer => {
  const enc = new LzmaEncoder(data);
  enc.setProps(PROPS);
  enc.resetState();
  const parts: Buffer[] = [];
  let propsSent = false;
  let stateReset = true;
  for (let start = 0; start < data.length; start += LZMA_CHUNK) {
    const end = Math.min(data.length, start + LZMA_CHUNK);
    const packed = enc.encodeChunk(start, end);
    if (packed.length >= end - start || packed.length > LZMA_CHUNK_PACKED_MAX) {
      parts.push(...storedChunks(data, start, end, start === 0));
      enc.resetState();
      stateReset = true;
      continue;
    }
    const reset = start === 0 ? 3 : !propsSent ? 2 : stateReset ? 1 : 0;
    const u = end - start - 1;
    const c = packed.length - 1;
    parts.push(Buffer.from([0x80 | (reset << 5) | (u >>> 16), (u >>> 8) & 0xff, u & 0xff, c >>> 8, c & 0xff, ...(reset >= 2 ? [propsByte(PROPS)] : [])]), packed);
    propsSent = true;
    stateReset = false;
  }
  parts.push(Buffer.from([0x00]));
  return Buffer.concat(parts);
};
