import net from 'node:net';
import { giveBuffer, takeBuffer } from '../../lib/buffer-pool.js';

/**
 * What the consumer of a body does with a chunk: nothing to wait for (it is done with the bytes),
 * or a promise that resolves once it no longer needs them. The chunk is a view of a buffer that
 * is reused for the next read, so a consumer that keeps it (a write still queued) must say so.
 */
export type OnBody = (chunk: Buffer) => Promise<void> | undefined;

export interface RawGetResult {
  status: number;
  headers: Record<string, string>;
  /** The body when the status is not 200/206 (an error document), at most 64 KiB. */
  errorBody?: string;
}

/** The consumer threw: not a network problem, never retried. */
export class ConsumerError extends Error {
  constructor(readonly inner: unknown) {
    super((inner as Error)?.message ?? String(inner));
    this.name = 'ConsumerError';
  }
}

/** A 2xx body without a Content-Length (chunked): the caller should use a regular HTTP client. */
export class UnsupportedFraming extends Error {
  constructor(what: string) {
    super(`unsupported response framing (${what})`);
    this.name = 'UnsupportedFraming';
  }
}

const READ_BUFFER = 1024 * 1024;

/** The payload of a chunked body (for error documents only). */
const dechunk = (raw: string): string => {
  let out = '';
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    const size = eol < 0 ? Number.NaN : parseInt(raw.slice(pos, eol), 16);
    if (!(size > 0)) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    pos = eol + 2 + size + 2;
  }
};

/**
 * A plain-HTTP GET whose body is read straight into one reused 1 MiB buffer (`net.Socket`'s
 * `onread`) and handed to `onBody` chunk by chunk: no allocation per read, so streaming a
 * multi-GiB blob creates no garbage, and reads are up to 1 MiB instead of 64 KiB. For bodies
 * with a Content-Length (registry blobs); the connection is closed at the end. Rejects on a
 * network error, a timeout without data, or a body shorter than announced (the caller resumes).
 */
export const rawGet = (
  url: URL,
  headers: Record<string, string>,
  onBody: OnBody,
  opts: { timeoutMs?: number; signal?: AbortSignal; onStatus?: (status: number) => void } = {},
): Promise<RawGetResult> =>
  new Promise((resolve, reject) => {
    const buffer = takeBuffer(READ_BUFFER);
    let head = '';
    let result: RawGetResult | undefined;
    let remaining = -1;
    let errorBody = '';
    let finished = false;
    let held: Promise<void> | undefined;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      socket.destroy();
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) return reject(err); // a consumer may still hold a chunk of the buffer: not reused
      if (!held) giveBuffer(buffer); // every chunk let go of: the buffer can serve the next GET
      resolve(result!);
    };
    const onAbort = () => finish(opts.signal?.reason ?? new Error('aborted'));
    /** Hands the body bytes on; false when the consumer still holds them (no read until it lets go). */
    const deliver = (body: Buffer): boolean => {
      if (result!.status !== 200 && result!.status !== 206) {
        errorBody = (errorBody + body.toString('utf8')).slice(0, 64 * 1024);
        return true;
      }
      let wait: Promise<void> | undefined;
      try {
        wait = onBody(body);
      } catch (err) {
        finish(new ConsumerError(err));
        return false;
      }
      if (!wait) return true;
      // Paused on purpose while the consumer holds the bytes: no idle timeout meanwhile.
      if (opts.timeoutMs) socket.setTimeout(0);
      held = wait.then(
        () => {
          held = undefined;
          if (!finished && remaining > 0) {
            if (opts.timeoutMs) socket.setTimeout(opts.timeoutMs);
            socket.resume();
          }
        },
        (err: unknown) => finish(new ConsumerError(err)),
      );
      return false;
    };
    /** The whole body is in: resolve once the consumer has let go of the last chunk too. */
    const complete = () => {
      if (result!.status !== 200 && result!.status !== 206) result!.errorBody = errorBody;
      if (held) void held.then(() => finish());
      else finish();
    };
    const socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: {
        buffer,
        callback: (n: number, buf: Uint8Array) => {
          let chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (!result) {
            head += chunk.toString('latin1');
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) {
              if (head.length > 64 * 1024) finish(new Error('HTTP response header over 64 KiB'));
              return true;
            }
            const lines = head.slice(0, end).split('\r\n');
            const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
            const hdrs: Record<string, string> = {};
            for (const l of lines.slice(1)) {
              const i = l.indexOf(':');
              if (i > 0) hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
            }
            result = { status, headers: hdrs };
            opts.onStatus?.(status);
            const ok = status === 200 || status === 206;
            if (ok && (hdrs['transfer-encoding'] || hdrs['content-length'] === undefined)) {
              finish(new UnsupportedFraming(hdrs['transfer-encoding'] ?? 'no Content-Length'));
              return false;
            }
            // An error document without a length runs to the end of the connection (Connection: close).
            remaining = hdrs['content-length'] === undefined || hdrs['transfer-encoding'] ? Number.POSITIVE_INFINITY : Number(hdrs['content-length']);
            chunk = chunk.subarray(chunk.length - (head.length - end - 4));
          }
          const body = chunk.subarray(0, Math.min(chunk.length, remaining));
          remaining -= body.length;
          // Returning false pauses the socket: the buffer is not read into while the consumer holds it.
          const free = body.length ? deliver(body) : true;
          if (remaining === 0 && !finished) complete();
          return free;
        },
      },
    } as net.NetConnectOpts);
    socket.setNoDelay(true);
    /** The whole body is in (complete() finishes once the consumer lets go): a late socket error or timeout does not fail it. */
    const bodyIn = () => result !== undefined && remaining === 0;
    if (opts.timeoutMs) {
      socket.setTimeout(opts.timeoutMs);
      socket.on('timeout', () => {
        if (!bodyIn()) finish(new Error(`no data for ${opts.timeoutMs} ms`));
      });
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => {
      if (bodyIn()) socket.destroy();
      else finish(err);
    });
    socket.on('close', () => {
      if (bodyIn()) return; // complete: finishing once the consumer lets go
      if (result && remaining === Number.POSITIVE_INFINITY) {
        result.errorBody = result.headers['transfer-encoding'] ? dechunk(errorBody) : errorBody;
        finish();
      } else finish(new Error(result ? `connection closed with ${remaining} bytes of the body still to come` : 'connection closed before the response'));
    });
    const path = `${url.pathname}${url.search}`;
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
