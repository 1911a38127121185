import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { decideRange, ifRangeMatches } from './range.js';
import { setIdleTimeout } from '../lib/long-timer.js';
import { copyFileRange } from './file-stream.js';
import type { AppEnv } from './env.js';

const CHUNK = 1024 * 1024;

export interface SendFileOptions {
  contentType: string;
  cacheControl?: string;
  /** A strong validator to use instead of size+mtime (the registry uses the digest). */
  etag?: string;
  headers?: Record<string, string>;
  /** Cut a transfer that makes no progress this long (a stuck client must not hold it forever). */
  timeoutMs?: number;
  /** Told once the transfer ends: its status and the body bytes that went out (fewer when the client left early). */
  onSent?: (sent: { status: number; bytes: number }) => void;
}

/** Body bytes a Node response handed to its socket since `before` (headers taken off). */
const bodyBytesSince = (outgoing: { socket?: { bytesWritten: number } | null; _header?: unknown }, before: number, length: number): number => {
  const header = typeof outgoing._header === 'string' ? Buffer.byteLength(outgoing._header) : 0;
  return Math.max(0, Math.min(length, (outgoing.socket?.bytesWritten ?? before) - before - header));
};

/**
 * Streams a file with Content-Length, ETag, Last-Modified and single-range Range / If-Range
 * (206, or 416 when unsatisfiable). Under @hono/node-server it writes straight to the Node
 * response (no Web-stream hop), which is what lets large ISOs go out at disk speed.
 * Returns undefined when the file does not exist.
 */
export const sendFile = async (c: Context<AppEnv>, path: string, opts: SendFileOptions): Promise<Response | undefined> => {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (!st?.isFile()) return undefined;
  const size = st.size;
  const etag = opts.etag ?? `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const lastModified = st.mtime.toUTCString();
  const headers: Record<string, string> = {
    'Accept-Ranges': 'bytes',
    'Content-Type': opts.contentType,
    ETag: etag,
    'Last-Modified': lastModified,
    'X-Request-Id': c.get('requestId') ?? '',
  };
  if (opts.cacheControl) headers['Cache-Control'] = opts.cacheControl;
  Object.assign(headers, opts.headers);

  let status = 200;
  let start = 0;
  let end = size - 1;
  const inm = c.req.header('if-none-match');
  if (inm?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    status = 304;
  } else if (ifRangeMatches(c.req.header('if-range'), etag, lastModified)) {
    const range = decideRange(c.req.header('range'), size);
    if (range.kind === 'unsatisfiable') {
      status = 416;
      headers['Content-Range'] = `bytes */${size}`;
    } else if (range.kind === 'partial') {
      status = 206;
      start = range.start;
      end = range.end;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  const length = status === 200 || status === 206 ? end - start + 1 : 0;
  headers['Content-Length'] = String(length);
  const withBody = c.req.method !== 'HEAD' && length > 0;
  const body = () => createReadStream(path, { start, end, highWaterMark: CHUNK });

  c.set('sentStatus', status);
  const outgoing = c.env?.outgoing;
  if (withBody && outgoing && 'writeHead' in outgoing && !('stream' in outgoing)) {
    // The adapter's own marker (a native Response, read-only to us) tells it the reply is sent.
    const socket = outgoing.socket;
    const before = socket?.bytesWritten ?? 0;
    outgoing.writeHead(status, headers);
    const stopIdle = opts.timeoutMs && socket ? setIdleTimeout(socket, opts.timeoutMs, () => outgoing.destroy()) : undefined;
    let sent = length;
    await copyFileRange(path, start, end, outgoing).catch(() => {
      // The client went away mid-transfer (iPXE retries with a Range); only what went out counts.
      sent = bodyBytesSince(outgoing as never, before, length);
      outgoing.destroy();
    });
    opts.onSent?.({ status, bytes: sent });
    // Node resets the socket's timeout for keep-alive when the response finishes; only our listener goes.
    stopIdle?.();
    return RESPONSE_ALREADY_SENT;
  }
  // Outside Node's server (no socket to watch) the whole body is counted as sent.
  opts.onSent?.({ status, bytes: withBody ? length : 0 });
  const webBody = withBody ? (Readable.toWeb(body()) as ReadableStream) : null;
  return new Response(webBody, { status, headers });
};
