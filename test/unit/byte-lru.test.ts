import { describe, expect, it } from 'vitest';
import { createByteLru } from '../../src/lib/byte-lru.js';

const b = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('createByteLru', () => {
  it('drops the least recently used entries once the total passes the bound', () => {
    const lru = createByteLru(100);
    lru.set('a', b(40, 1));
    lru.set('b', b(40, 2));
    expect(lru.get('a')?.[0]).toBe(1); // a is now the most recent
    lru.set('c', b(40, 3)); // 120 > 100: b goes, a stays
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')?.[0]).toBe(1);
    expect(lru.get('c')?.[0]).toBe(3);
    expect(lru.bytes).toBe(80);
  });

  it('replaces an entry without counting it twice, and refuses one larger than the bound', () => {
    const lru = createByteLru(100);
    lru.set('a', b(60));
    lru.set('a', b(70));
    expect(lru.bytes).toBe(70);
    lru.set('huge', b(101));
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.get('a')?.length).toBe(70);
  });
});
