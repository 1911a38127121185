/**
 * LZMA decoder as used inside LZMA2 (written from the LZMA/LZMA2 format descriptions): a range
 * decoder over adaptive 11-bit probabilities, the 12-state literal/match/rep machine, length and
 * distance coders. The output buffer doubles as the dictionary (small payloads such as an
 * Ignition cpio only), so the window is everything decoded since the last dictionary reset.
 */

import {
  ALIGN_BITS,
  END_POS_MODEL_INDEX,
  LEN_HIGH,
  LEN_LOW,
  LEN_MID,
  LEN_TO_POS_STATES,
  LzmaModel,
  MATCH_MIN_LEN,
  POS_STATES_MAX,
  XzFormatError,
  afterLiteral,
  afterMatch,
  afterRep,
  afterShortRep,
} from './lzma-model.js';

export { XzFormatError } from './lzma-model.js';

/** Growable output; also the LZMA dictionary. */
export class Output {
  buf: Uint8Array;
  length = 0;
  /** Position where the current dictionary starts (after a dictionary reset). */
  dictStart = 0;
  constructor(private readonly limit: number) {
    this.buf = new Uint8Array(Math.min(limit, 64 * 1024));
  }
  private grow(need: number): void {
    if (need > this.limit) throw new XzFormatError(`decompressed data exceeds ${this.limit} bytes`);
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.min(this.limit, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  push(byte: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = byte;
  }
  append(bytes: Uint8Array): void {
    this.grow(this.length + bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  /** Copies `len` bytes from `dist + 1` bytes back (overlap allowed, byte by byte). */
  copyMatch(dist: number, len: number): void {
    if (dist + 1 > this.length - this.dictStart) throw new XzFormatError('corrupt LZMA data: match distance beyond the dictionary');
    this.grow(this.length + len);
    let src = this.length - dist - 1;
    for (let i = 0; i < len; i++) this.buf[this.length++] = this.buf[src++]!;
  }
  back(dist: number): number {
    return this.length - dist - 1 >= this.dictStart ? this.buf[this.length - dist - 1]! : 0;
  }
  get dictSize(): number {
    return this.length - this.dictStart;
  }
}

class RangeDecoder {
  private range = 0xffffffff;
  private code = 0;
  private pos: number;
  constructor(
    private readonly input: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    if (input[start] !== 0) throw new XzFormatError('corrupt LZMA data: bad range coder start');
    this.pos = start + 1;
    for (let i = 0; i < 4; i++) this.code = this.code * 256 + this.next();
    if (this.code === this.range) throw new XzFormatError('corrupt LZMA data: bad range coder start');
  }
  /** The state a correctly flushed range coder ends in. */
  get clean(): boolean {
    return this.code === 0;
  }
  private next(): number {
    if (this.pos >= this.end) throw new XzFormatError('corrupt LZMA data: chunk ends early');
    return this.input[this.pos++]!;
  }
  private normalize(): void {
    if (this.range < 0x1000000) {
      this.range *= 256;
      this.code = this.code * 256 + this.next();
    }
  }
  bit(probs: Uint16Array, i: number): number {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
      b = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      probs[i] = p - (p >>> 5);
      b = 1;
    }
    this.normalize();
    return b;
  }
  direct(count: number): number {
    let v = 0;
    for (let i = 0; i < count; i++) {
      this.range = this.range >>> 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      v = v * 2 + b;
      this.normalize();
    }
    return v;
  }
  tree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(probs, base + m);
    return m - (1 << bits);
  }
  reverseTree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }
  get finishedAt(): number {
    return this.pos;
  }
}

const decodeLen = (rc: RangeDecoder, p: Uint16Array, posState: number): number => {
  if (rc.bit(p, 0) === 0) return rc.tree(p, LEN_LOW + posState * 8, 3);
  if (rc.bit(p, 1) === 0) return 8 + rc.tree(p, LEN_MID + posState * 8, 3);
  return 16 + rc.tree(p, LEN_HIGH, 8);
};

/** The LZMA state carried across the chunks of one LZMA2 stream. */
export class LzmaDecoder extends LzmaModel {
  private decodeLiteral(rc: RangeDecoder, out: Output): void {
    const base = this.literalBase(out.dictSize, out.back(0));
    let sym = 1;
    if (this.state >= 7) {
      let matchByte = out.back(this.reps[0]!);
      while (sym < 0x100) {
        const matchBit = (matchByte >>> 7) & 1;
        matchByte <<= 1;
        const b = rc.bit(this.literal, base + ((1 + matchBit) << 8) + sym);
        sym = (sym << 1) | b;
        if (b !== matchBit) break;
      }
    }
    while (sym < 0x100) sym = (sym << 1) | rc.bit(this.literal, base + sym);
    out.push(sym - 0x100);
    this.state = afterLiteral(this.state);
  }

  private decodeDistance(rc: RangeDecoder, len: number): number {
    const slot = rc.tree(this.posSlot, Math.min(len, LEN_TO_POS_STATES - 1) * 64, 6);
    if (slot < 4) return slot;
    const direct = (slot >>> 1) - 1;
    let dist = (2 | (slot & 1)) * 2 ** direct;
    if (slot < END_POS_MODEL_INDEX) return dist + rc.reverseTree(this.posSpecial, dist - slot, direct);
    dist += rc.direct(direct - ALIGN_BITS) * 2 ** ALIGN_BITS;
    return dist + rc.reverseTree(this.align, 0, ALIGN_BITS);
  }

  /** Decodes one LZMA chunk of `unpacked` bytes from input[start, end). */
  decodeChunk(input: Uint8Array, start: number, end: number, unpacked: number, out: Output): void {
    const rc = new RangeDecoder(input, start, end);
    const target = out.length + unpacked;
    const pbMask = (1 << this.props.pb) - 1;
    while (out.length < target) {
      const posState = out.dictSize & pbMask;
      const s = this.state;
      if (rc.bit(this.isMatch, s * POS_STATES_MAX + posState) === 0) {
        this.decodeLiteral(rc, out);
        continue;
      }
      let len: number;
      if (rc.bit(this.isRep, s) === 0) {
        len = decodeLen(rc, this.len, posState);
        this.state = afterMatch(s);
        const dist = this.decodeDistance(rc, len);
        if (dist === 0xffffffff) throw new XzFormatError('corrupt LZMA2 data: end marker inside a chunk');
        this.reps = [dist, this.reps[0]!, this.reps[1]!, this.reps[2]!];
      } else {
        if (out.dictSize === 0) throw new XzFormatError('corrupt LZMA data: repeat match on an empty dictionary');
        if (rc.bit(this.isRepG0, s) === 0) {
          if (rc.bit(this.isRep0Long, s * POS_STATES_MAX + posState) === 0) {
            this.state = afterShortRep(s);
            out.push(out.back(this.reps[0]!));
            continue;
          }
        } else {
          const [r0, r1, r2, r3] = this.reps as [number, number, number, number];
          if (rc.bit(this.isRepG1, s) === 0) this.reps = [r1, r0, r2, r3];
          else if (rc.bit(this.isRepG2, s) === 0) this.reps = [r2, r0, r1, r3];
          else this.reps = [r3, r0, r1, r2];
        }
        len = decodeLen(rc, this.repLen, posState);
        this.state = afterRep(s);
      }
      len += MATCH_MIN_LEN;
      if (out.length + len > target) throw new XzFormatError('corrupt LZMA2 data: a match runs past the chunk');
      out.copyMatch(this.reps[0]!, len);
    }
    if (rc.finishedAt !== end) throw new XzFormatError('corrupt LZMA2 data: chunk size mismatch');
    // A range coder that ended cleanly holds code 0: anything else means damaged final bytes.
    if (!rc.clean) throw new XzFormatError('corrupt LZMA2 data: the range coder did not end cleanly');
  }
}
