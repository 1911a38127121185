/** Deterministic pseudo-random bytes (xorshift32): incompressible, reproducible from `seed`. */
export const noise = (length: number, seed: number): Buffer => {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

/** `n` as 4 little-endian bytes (a CRC32 field). */
export const le32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
