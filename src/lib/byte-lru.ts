/**
 * A least-recently-used map of byte buffers bounded by their total size (the bytes only; keys and
 * Map entries add some 100 bytes each). For content-addressed data only (a key's bytes never
 * change), so there is nothing to invalidate.
 */
export interface ByteLru {
  get(key: string): Uint8Array | undefined;
  set(key: string, bytes: Uint8Array): void;
  /** Bytes held now. */
  readonly bytes: number;
}

export const createByteLru = (maxBytes: number): ByteLru => {
  const entries = new Map<string, Uint8Array>();
  let held = 0;
  return {
    get(key) {
      const v = entries.get(key);
      if (v === undefined) return undefined;
      // Map keeps insertion order: re-inserting makes this the most recently used entry.
      entries.delete(key);
      entries.set(key, v);
      return v;
    },
    set(key, bytes) {
      if (bytes.length > maxBytes) return;
      const old = entries.get(key);
      if (old !== undefined) {
        held -= old.length;
        entries.delete(key);
      }
      entries.set(key, bytes);
      held += bytes.length;
      for (const [k, v] of entries) {
        if (held <= maxBytes) break;
        entries.delete(k);
        held -= v.length;
      }
    },
    get bytes() {
      return held;
    },
  };
};
