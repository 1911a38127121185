/**
 * LZMA2 chunk layer (filter id 0x21 in .xz): a sequence of chunks, each either stored
 * (control 0x01 with a dictionary reset, 0x02 without) or LZMA-compressed (control 0x80-0xFF:
 * bits 5-6 say what is reset, bits 0-4 the high bits of the unpacked size), ended by 0x00.
 */
import { LzmaDecoder, Output, XzFormatError, parseProps } from './lzma-decoder.js';

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
