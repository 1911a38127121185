import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const JOB_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * A ULID: 48-bit millisecond time + 80 random bits in Crockford base32, 26 characters. Sorts by
 * creation time (cursor pagination), and `TASK_<id>` fits the 32-character ISO volume id.
 */
export const newJobId = (now: number): string => {
  let out = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(10);
  let bits = 0;
  let acc = 0;
  for (const byte of rnd) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
};

/**
 * Per-job bearer tokens, derived from the controller secret: HMAC-SHA256(secret, job id). No
 * token is stored anywhere; the task ISO and the boot script carry it, and the callback is
 * verified by recomputing it and comparing in constant time.
 */
export const createJobTokens = (secret: Buffer) => {
  const issue = (jobId: string): string => createHmac('sha256', secret).update(`reef-job-token\0${jobId}`).digest('base64url');
  return {
    issue,
    verify(jobId: string, token: string | undefined): boolean {
      if (!token) return false;
      const want = Buffer.from(issue(jobId));
      const got = Buffer.from(token);
      return got.length === want.length && timingSafeEqual(got, want);
    },
  };
};
export type JobTokens = ReturnType<typeof createJobTokens>;

export const safeEqual = (a: string, b: string): boolean => {
  const x = createHmac('sha256', 'cmp').update(a).digest();
  const y = createHmac('sha256', 'cmp').update(b).digest();
  return timingSafeEqual(x, y);
};
