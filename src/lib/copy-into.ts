import type { WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';

/**
 * Pipes a request body into a file. Unlike stream.pipeline it does not destroy the request
 * when the file fails (a full disk): the body is unpiped, Node discards the rest of it, and
 * the client receives the 507 instead of a connection reset. A client that goes away ends
 * the file with what arrived.
 */
export const copyInto = (body: Readable, out: WriteStream) =>
  new Promise<void>((resolve, reject) => {
    let failure: Error | undefined;
    const stop = (err: Error) => {
      if (failure) return;
      failure = err;
      body.unpipe(out);
      if (!out.destroyed) out.end();
    };
    out.on('error', (err) => {
      failure ??= err;
      body.unpipe(out);
    });
    out.on('close', () => (failure ? reject(failure) : resolve()));
    body.on('aborted', () => stop(new Error('client went away during the upload')));
    body.on('error', (err) => stop(err));
    body.pipe(out);
  });
