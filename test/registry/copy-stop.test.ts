/**
 * A blob copy whose upload fails mid-blob ends with the upload's error, never hangs, when the
 * source is read over HTTPS (blobPush's readBlob path: the aborted response body still hands
 * over the chunks it had buffered). Before the fix, the consumer's early stop left pushedChunks
 * waiting forever on a chunk handed over after the abort: the copy (and a clone job, a mirror
 * run) never ended.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBlob } from '../../src/registry/client/blob-copy.js';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { makeTestPki, type TestPki } from '../helpers/test-pki.js';
import { requireTool } from '../helpers/tools.js';

const blob = randomBytes(4 * 1024 * 1024);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

const listen = async (server: http.Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
};

describe('copyBlob over a TLS source when the destination fails mid-blob', () => {
  const tls = requireTool('openssl');
  let pki: TestPki;
  let source: https.Server;
  let destination: http.Server;
  let sourceHost = '';
  let destinationHost = '';
  const patches: number[] = [];

  beforeAll(async () => {
    if (!tls) return;
    pki = makeTestPki('reef copy-stop test CA');
    // The source sends the blob in 64 KiB writes at once: the client's body holds many chunks buffered.
    source = https.createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
      if (req.method === 'GET' && req.url === `/v2/src/blobs/${digest}`) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.length) });
        for (let at = 0; at < blob.length; at += 64 * 1024) res.write(blob.subarray(at, at + 64 * 1024));
        res.end();
      } else res.writeHead(404).end();
    });
    // The destination takes the upload's start, then its disk is full: 507 to every PATCH.
    destination = http.createServer((req, res) => {
      req.resume();
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'HEAD') res.writeHead(404).end();
      else if (req.method === 'POST' && url.pathname === '/v2/dst/blobs/uploads/') res.writeHead(202, { Location: '/v2/dst/blobs/uploads/u1', 'Content-Length': '0' }).end();
      else if (req.method === 'PATCH') {
        patches.push(Number(req.headers['content-length']));
        req.on('end', () => res.writeHead(507, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"no space left on device"}]}'));
      } else if (req.method === 'DELETE') res.writeHead(204).end();
      else res.writeHead(404).end();
    });
    sourceHost = await listen(source as unknown as http.Server);
    destinationHost = await listen(destination);
  });

  afterAll(() => {
    for (const server of [source, destination]) {
      server?.closeAllConnections();
      server?.close();
    }
  });

  // The failure mode is the test's timeout (the copy hanging), not a timed assertion.
  it.skipIf(!tls)('ends with the 507 from the destination, not a hang', { timeout: 20_000 }, async () => {
    const from = createOciClient({ registry: sourceHost, ca: pki.caPem, retries: 0 });
    const to = createOciClient({ registry: destinationHost, plainHttp: true, retries: 0, chunkSize: 256 * 1024 });
    await expect(copyBlob({ from, fromRepo: 'src', to, toRepo: 'dst', digest, size: blob.length })).rejects.toThrow(/507/);
    expect(patches.length).toBeGreaterThan(0);
  });
});
