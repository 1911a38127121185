import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './env.js';

/**
 * A JSON answer with its Content-Length said outright. A HEAD answer carries no body, so the
 * server cannot count one: without the header, Node's HTTP client (reef's own, in every mirror)
 * does not reuse the connection, and a fresh one per `HEAD blob` → 404 cost a TCP connection for
 * every blob pushed.
 */
export const jsonAnswer = (c: Context<AppEnv>, value: unknown, status: ContentfulStatusCode, headers: Record<string, string> = {}): Response => {
  const text = JSON.stringify(value);
  // A new answer with the length, copied from c.body's (which holds the headers set on the context
  // before, as c.json would): a length given to c.body, or set on its answer, stays on the context, and
  // a page rendered from this answer afterwards (the web UI's error page) would go out cut to the JSON's length.
  const all = new Headers(c.body(text, status, { 'Content-Type': 'application/json', ...headers }).headers);
  all.set('Content-Length', String(Buffer.byteLength(text)));
  return new Response(text, { status, headers: all });
};
