import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createOciClient } from '../../src/registry/client/oci-client.js';

const blob = randomBytes(3 * 1024 * 1024 + 17);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

describe('OciClient.blobPush (plain HTTP, one reused read buffer)', () => {
  let server: http.Server | undefined;
  afterEach(() => server?.close());
  const serve = async (handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) => {
    let n = 0;
    server = http.createServer((req, res) => handler(req, res, n++));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return createOciClient({ registry: `127.0.0.1:${(server!.address() as AddressInfo).port}`, retries: 3 });
  };
  /** Collects what the consumer sees, copying each chunk (the buffer is reused) and sometimes holding it a while. */
  const collect = () => {
    const parts: Buffer[] = [];
    let i = 0;
    const onData = (chunk: Buffer) => {
      parts.push(Buffer.from(chunk));
      return i++ % 3 === 0 ? new Promise<void>((r) => setTimeout(r, 1)) : undefined;
    };
    return { onData, bytes: () => Buffer.concat(parts) };
  };

  it('delivers the blob byte for byte and checks its digest', async () => {
    const client = await serve((_req, res) => res.writeHead(200, { 'content-length': blob.length }).end(blob));
    const c = collect();
    await client.blobPush('r/x', digest, blob.length, c.onData);
    expect(c.bytes().equals(blob)).toBe(true);
  });

  it('does not read into a chunk the consumer still holds', async () => {
    const client = await serve((_req, res) => res.writeHead(200, { 'content-length': blob.length }).end(blob));
    const parts: Buffer[] = [];
    let changed = 0;
    await client.blobPush('r/x', digest, blob.length, (chunk) => {
      const copy = Buffer.from(chunk);
      // Hold every chunk for a while, then check that its bytes are still the ones handed over.
      return new Promise<void>((r) =>
        setTimeout(() => {
          if (!copy.equals(chunk)) changed++;
          parts.push(copy);
          r();
        }, 2),
      );
    });
    expect(changed).toBe(0);
    expect(Buffer.concat(parts).equals(blob)).toBe(true);
  });

  it('resumes after a cut with Range, and copes with a server that then ignores Range', async () => {
    const ranges: (string | undefined)[] = [];
    const client = await serve((req, res, n) => {
      ranges.push(req.headers.range);
      res.writeHead(200, { 'content-length': blob.length });
      if (n === 0) {
        res.write(blob.subarray(0, 1024 * 1024 + 5), () => res.destroy()); // cut mid-body
      } else res.end(blob); // the whole blob again, Range or not
    });
    const c = collect();
    await client.blobPush('r/x', digest, blob.length, c.onData);
    expect(c.bytes().equals(blob)).toBe(true);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
  });

  it('fails on a digest mismatch, and on a registry error with its code, without retrying a 404', async () => {
    const bad = Buffer.from(blob);
    bad[100] = bad[100]! ^ 1;
    let client = await serve((_req, res) => res.writeHead(200, { 'content-length': bad.length }).end(bad));
    await expect(client.blobPush('r/x', digest, blob.length, collect().onData)).rejects.toThrow(/^digest mismatch for blob sha256:/);
    server!.close();
    let calls = 0;
    client = await serve((_req, res) => {
      calls++;
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
    });
    await expect(client.blobPush('r/x', digest, blob.length, collect().onData)).rejects.toThrow(`get blob ${digest}: HTTP 404 BLOB_UNKNOWN: blob unknown to registry`);
    expect(calls).toBe(1);
  });

  it('reads a chunked blob (no Content-Length) through the regular client', async () => {
    const client = await serve((_req, res) => {
      res.writeHead(200);
      res.write(blob.subarray(0, 1000));
      res.end(blob.subarray(1000));
    });
    const c = collect();
    await client.blobPush('r/x', digest, blob.length, c.onData);
    expect(c.bytes().equals(blob)).toBe(true);
  });

  it('follows a redirect to object storage (307 + Location), as registries with S3 back ends answer', async () => {
    const client = await serve((req, res) => {
      if (req.url!.startsWith('/v2/')) res.writeHead(307, { location: '/storage/blob?sig=abc', 'content-length': 0 }).end();
      else res.writeHead(200, { 'content-length': blob.length }).end(blob);
    });
    const c = collect();
    await client.blobPush('r/x', digest, blob.length, c.onData);
    expect(c.bytes().equals(blob)).toBe(true);
  });

  it('stops at once, without retrying, when the consumer throws', async () => {
    let calls = 0;
    const client = await serve((_req, res) => {
      calls++;
      res.writeHead(200, { 'content-length': blob.length }).end(blob);
    });
    await expect(
      client.blobPush('r/x', digest, blob.length, () => {
        throw new Error('refused by the consumer');
      }),
    ).rejects.toThrow('refused by the consumer');
    expect(calls).toBe(1);
  });
});
