import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/**
 * A wrong token must not tell by its answer time how wrong it is: the server hashes whatever it
 * gets before looking it up, so a one-byte token and a right-length one cost the same.
 */
describe('wrong tokens take the same time, whatever their length', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef({ REEF_API_AUTH: 'token', REEF_AUTH_FAILURES: '1000000' });
  });
  afterAll(async () => reef?.stop());

  it('2,000 tries each, interleaved: medians within noise (±20 %), every one refused', async () => {
    const kinds = {
      short: () => 'x',
      rightLength: () => `reef_${randomBytes(32).toString('base64url')}`,
      long: () => `reef_${randomBytes(600).toString('base64url')}`,
    };
    const times: Record<keyof typeof kinds, number[]> = { short: [], rightLength: [], long: [] };
    const statuses = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) {
        const token = kinds[kind]();
        const t0 = performance.now();
        const res = await reef.req('/api/v1/jobs', { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        times[kind].push(performance.now() - t0);
        statuses.add(res.status);
      }
    }
    expect([...statuses]).toEqual([401]);
    const m = { short: median(times.short), rightLength: median(times.rightLength), long: median(times.long) };
    console.log(`median answer time of a wrong token (ms): ${JSON.stringify(m)}`);
    expect(m.rightLength / m.short).toBeGreaterThan(0.8);
    expect(m.rightLength / m.short).toBeLessThan(1.2);
  }, 120_000);
});
