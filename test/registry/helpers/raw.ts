/**
 * Requests whose body the test controls byte by byte (node:http): a PATCH that streams slowly
 * and is held open, or one whose connection is dropped half-way.
 */
import { request } from 'node:http';

export interface HeldRequest {
  /** Writes bytes and resolves once they are handed to the socket. */
  write(bytes: Buffer): Promise<void>;
  /** Ends the body; `response` then settles. */
  end(bytes?: Buffer): void;
  /** Drops the connection (a client crash or a network cut). */
  drop(): void;
  response: Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
}

export const openRequest = (url: string, method: string, headers: Record<string, string>): HeldRequest => {
  const req = request(url, { method, headers });
  const response = new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => undefined); // a dropped request rejects; callers that care await it
  req.flushHeaders();
  return {
    write: (bytes) => new Promise((resolve, reject) => req.write(bytes, (err) => (err ? reject(err) : resolve()))),
    end: (bytes) => req.end(bytes),
    drop: () => req.destroy(),
    response,
  };
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retries `probe` until `done(result)` holds (the server may still be tidying up after a dropped
 * connection); returns the last result. Not a timing assertion: callers assert on the result.
 */
export const settle = async <T>(probe: () => Promise<T>, done: (r: T) => boolean, tries = 50, everyMs = 100): Promise<T> => {
  let last = await probe();
  for (let i = 0; i < tries && !done(last); i++) {
    await sleep(everyMs);
    last = await probe();
  }
  return last;
};
