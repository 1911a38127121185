import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

/** A start cut off while it wrote secret.key (crash, power cut, full disk) must not stop every later start. */
describe('a start interrupted while writing secret.key', () => {
  let reef: TestReef | undefined;
  let dir: string;
  afterEach(async () => {
    await reef?.stop();
    reef = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [what, bytes] of [['empty', 0], ['half-written', 10]] as const) {
    it(`an ${what} secret.key is replaced and reef starts`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'reef-secret-'));
      writeFileSync(join(dir, 'secret.key'), Buffer.alloc(bytes, 1));
      reef = await startTestReef({}, dir);
      expect((await reef.req('/healthz')).status).toBe(200);
      const st = statSync(join(dir, 'secret.key'));
      expect(st.size).toBe(32);
      expect(st.mode & 0o777).toBe(0o600);
    });
  }
});
