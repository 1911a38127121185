/**
 * rawGet's idle timeout counts only while it waits for the network: not while the socket is
 * paused because the consumer holds a chunk (a slow PATCH downstream), nor once the whole body
 * is in and the consumer still holds the last chunk.
 */
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawGet } from '../../src/registry/client/raw-get.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('rawGet idle timeout', () => {
  let server: net.Server;
  let url: URL;
  const bodies = { small: randomBytes(1000), big: randomBytes(2 * 1024 * 1024 + 123) };

  beforeAll(async () => {
    server = net.createServer((socket) => {
      socket.once('data', (data) => {
        const body = data.toString('latin1').startsWith('GET /big ') ? bodies.big : bodies.small;
        socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });

  afterAll(() => server.close());

  /** Reads `path` with a 100 ms idle timeout while the consumer holds the first body chunk for 300 ms (the only one of /small). */
  const readHolding = async (path: string) => {
    const parts: Buffer[] = [];
    const res = await rawGet(new URL(path, url), {}, (chunk) => {
      parts.push(Buffer.from(chunk));
      return parts.length === 1 ? sleep(300) : undefined;
    }, { timeoutMs: 100 });
    return { status: res.status, body: Buffer.concat(parts) };
  };

  it('does not time out while the consumer holds a chunk (the socket paused on purpose)', async () => {
    const { status, body } = await readHolding('/big');
    expect(status).toBe(200);
    expect(body.equals(bodies.big)).toBe(true);
  });

  it('does not fail a body received in full while the consumer holds its last chunk', async () => {
    const { status, body } = await readHolding('/small');
    expect(status).toBe(200);
    expect(body.equals(bodies.small)).toBe(true);
  });
});
