/**
 * A small greedy LZMA encoder for LZMA2 chunks (written from the LZMA/LZMA2 format
 * descriptions): a hash-chain match finder over the whole input (the dictionary is the input),
 * then per position the longest of a rep0 match, a new match, a short rep or a literal, coded
 * with the same adaptive model as the decoder. No optimal parsing: configs of a few KiB to a few
 * MiB compress to within a few percent of `xz -6`, which is what an embed area needs.
 */
import * as lz from './lzma-model.js';

const TOP = 0x1000000;
const TWO32 = 0x100000000;

class RangeEncoder {
  private low = 0;
  private range = 0xffffffff;
  private cache = 0;
  private cacheSize = 1;
  private out: Buffer;
  length = 0;
  constructor(capacity: number) {
    this.out = Buffer.alloc(capacity);
  }
  private put(byte: number): void {
    if (this.length === this.out.length) {
      const next = Buffer.alloc(this.out.length * 2);
      this.out.copy(next);
      this.out = next;
    }
    this.out[this.length++] = byte;
  }
  private shiftLow(): void {
    const lo32 = this.low % TWO32;
    if (lo32 < 0xff000000 || this.low >= TWO32) {
      const carry = this.low >= TWO32 ? 1 : 0;
      let temp = this.cache;
      do {
        this.put((temp + carry) & 0xff);
        temp = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = Math.floor(lo32 / TOP);
    }
    this.cacheSize++;
    this.low = (lo32 % TOP) * 256;
  }
  bit(probs: Uint16Array, i: number, b: number): void {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    if (b === 0) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
    } else {
      this.low += bound;
      this.range -= bound;
      probs[i] = p - (p >>> 5);
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }
  direct(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) {
      this.range = Math.floor(this.range / 2);
      if (Math.floor(value / 2 ** i) % 2) this.low += this.range;
      while (this.range < TOP) {
        this.range *= 256;
        this.shiftLow();
      }
    }
  }
  tree(probs: Uint16Array, base: number, bits: number, value: number): void {
    let m = 1;
    for (let i = bits - 1; i >= 0; i--) {
      const b = (value >>> i) & 1;
      this.bit(probs, base + m, b);
      m = (m << 1) | b;
    }
  }
  reverseTree(probs: Uint16Array, base: number, bits: number, value: number): void {
    let m = 1;
    for (let i = 0; i < bits; i++) {
      const b = (value >>> i) & 1;
      this.bit(probs, base + m, b);
      m = (m << 1) | b;
    }
  }
  finish(): Buffer {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return this.out.subarray(0, this.length);
  }
}

const HASH_BITS = 16;
const CHAIN_DEPTH = 48;

/** Hash chains over 3-byte prefixes of the whole input. */
class MatchFinder {
  private readonly head = new Int32Array(1 << HASH_BITS).fill(-1);
  private readonly prev: Int32Array;
  private next = 0;
  constructor(private readonly data: Uint8Array) {
    this.prev = new Int32Array(data.length);
  }
  private hash(p: number): number {
    const d = this.data;
    return (Math.imul(d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16), 0x9e3779b1) >>> (32 - HASH_BITS)) & ((1 << HASH_BITS) - 1);
  }
  /** Inserts every position before `upTo` not inserted yet. */
  advance(upTo: number): void {
    for (; this.next < upTo && this.next + 2 < this.data.length; this.next++) {
      const h = this.hash(this.next);
      this.prev[this.next] = this.head[h]!;
      this.head[h] = this.next;
    }
    this.next = Math.max(this.next, upTo);
  }
  /** Length of the common run at `a` and `b` (b < a), up to `max`. */
  common(a: number, b: number, max: number): number {
    const d = this.data;
    let n = 0;
    while (n < max && d[a + n] === d[b + n]) n++;
    return n;
  }
  /** Longest earlier match at `p` (length ≥ 3), as {len, dist} with dist = p - source - 1. */
  longest(p: number, max: number): { len: number; dist: number } {
    this.advance(p);
    let best = { len: 0, dist: 0 };
    if (max < 3 || p + 2 >= this.data.length) return best;
    let c = this.head[this.hash(p)]!;
    for (let depth = 0; c >= 0 && depth < CHAIN_DEPTH; depth++, c = this.prev[c]!) {
      const len = this.common(p, c, max);
      if (len > best.len) {
        best = { len, dist: p - c - 1 };
        if (len === max) break;
      }
    }
    return best.len >= 3 ? best : { len: 0, dist: 0 };
  }
}

const distSlot = (dist: number): number => {
  if (dist < 4) return dist;
  const n = 31 - Math.clz32(dist);
  return 2 * n + ((dist >>> (n - 1)) & 1);
};

/** LZMA encoder whose dictionary is the whole input (positions count from its start). */
export class LzmaEncoder extends lz.LzmaModel {
  private readonly finder: MatchFinder;
  constructor(private readonly data: Uint8Array) {
    super();
    this.finder = new MatchFinder(data);
  }

  private encodeLen(rc: RangeEncoder, p: Uint16Array, len: number, posState: number): void {
    const l = len - lz.MATCH_MIN_LEN;
    if (l < 8) {
      rc.bit(p, 0, 0);
      rc.tree(p, lz.LEN_LOW + posState * 8, 3, l);
    } else if (l < 16) {
      rc.bit(p, 0, 1);
      rc.bit(p, 1, 0);
      rc.tree(p, lz.LEN_MID + posState * 8, 3, l - 8);
    } else {
      rc.bit(p, 0, 1);
      rc.bit(p, 1, 1);
      rc.tree(p, lz.LEN_HIGH, 8, l - 16);
    }
  }

  private encodeDistance(rc: RangeEncoder, dist: number, len: number): void {
    const slot = distSlot(dist);
    rc.tree(this.posSlot, Math.min(len - lz.MATCH_MIN_LEN, lz.LEN_TO_POS_STATES - 1) * 64, 6, slot);
    if (slot < 4) return;
    const direct = (slot >>> 1) - 1;
    const base = (2 | (slot & 1)) * 2 ** direct;
    const reduced = dist - base;
    if (slot < lz.END_POS_MODEL_INDEX) {
      rc.reverseTree(this.posSpecial, base - slot, direct, reduced);
      return;
    }
    rc.direct(Math.floor(reduced / 2 ** lz.ALIGN_BITS), direct - lz.ALIGN_BITS);
    rc.reverseTree(this.align, 0, lz.ALIGN_BITS, reduced % 2 ** lz.ALIGN_BITS);
  }

  private encodeLiteral(rc: RangeEncoder, pos: number): void {
    const d = this.data;
    const base = this.literalBase(pos, pos > 0 ? d[pos - 1]! : 0);
    const byte = d[pos]!;
    let sym = 1;
    let i = 7;
    if (this.state >= 7) {
      let matchByte = d[pos - this.reps[0]! - 1]!;
      for (; i >= 0; i--) {
        const matchBit = (matchByte >>> 7) & 1;
        matchByte = (matchByte << 1) & 0xff;
        const b = (byte >>> i) & 1;
        rc.bit(this.literal, base + ((1 + matchBit) << 8) + sym, b);
        sym = (sym << 1) | b;
        if (b !== matchBit) {
          i--;
          break;
        }
      }
    }
    for (; i >= 0; i--) {
      const b = (byte >>> i) & 1;
      rc.bit(this.literal, base + sym, b);
      sym = (sym << 1) | b;
    }
    this.state = lz.afterLiteral(this.state);
  }

  /** Encodes data[start, end) as one LZMA chunk body (range coder flushed at the end). */
  encodeChunk(start: number, end: number): Buffer {
    const rc = new RangeEncoder(Math.max(64, end - start + (end - start) / 8 + 64));
    const pbMask = (1 << this.props.pb) - 1;
    let pos = start;
    while (pos < end) {
      const posState = pos & pbMask;
      const s = this.state;
      const max = Math.min(lz.MATCH_MAX_LEN, end - pos);
      const rep0Src = pos - this.reps[0]! - 1;
      const repLen = rep0Src >= 0 ? this.finder.common(pos, rep0Src, max) : 0;
      const main = this.finder.longest(pos, max);
      const m = s * lz.POS_STATES_MAX + posState;
      if (repLen >= lz.MATCH_MIN_LEN && repLen + 1 >= main.len) {
        rc.bit(this.isMatch, m, 1);
        rc.bit(this.isRep, s, 1);
        rc.bit(this.isRepG0, s, 0);
        rc.bit(this.isRep0Long, m, 1);
        this.encodeLen(rc, this.repLen, repLen, posState);
        this.state = lz.afterRep(s);
        pos += repLen;
      } else if (main.len >= 3 && !(main.len === 3 && main.dist >= 0x4000)) {
        rc.bit(this.isMatch, m, 1);
        rc.bit(this.isRep, s, 0);
        this.encodeLen(rc, this.len, main.len, posState);
        this.encodeDistance(rc, main.dist, main.len);
        this.reps = [main.dist, this.reps[0]!, this.reps[1]!, this.reps[2]!];
        this.state = lz.afterMatch(s);
        pos += main.len;
      } else if (repLen === 1 && s >= 7) {
        rc.bit(this.isMatch, m, 1);
        rc.bit(this.isRep, s, 1);
        rc.bit(this.isRepG0, s, 0);
        rc.bit(this.isRep0Long, m, 0);
        this.state = lz.afterShortRep(s);
        pos += 1;
      } else {
        rc.bit(this.isMatch, m, 0);
        this.encodeLiteral(rc, pos);
        pos += 1;
      }
    }
    return rc.finish();
  }
}
