import { Readable } from 'node:stream';
import type { Context } from 'hono';
import yaml from 'js-yaml';
import { documentShapeProblem, shapeMessage } from '../core/document-shape.js';
import { DomainError, fieldError } from '../core/errors.js';
import { type LongTimer, setLongTimeout } from '../lib/long-timer.js';
import type { AppEnv } from './env.js';

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);
const JSON_TYPES = new Set(['application/json', 'text/json']);
/** What curl -d and hand-written clients send without thinking: sniff JSON first, then YAML. */
const SNIFF_TYPES = new Set(['', 'application/x-www-form-urlencoded', 'text/plain', 'application/octet-stream']);

const tooLarge = (limit: number) =>
  new DomainError('PAYLOAD_TOO_LARGE', `body: larger than the ${limit}-byte limit`, [{ path: 'body', message: `larger than ${limit} bytes` }]);

/** Nesting no posted document needs; deeper is refused before zod or the database walk it. */
const MAX_DEPTH = 64;

const timedOut = (ms: number) =>
  new DomainError('REQUEST_TIMEOUT', `body: did not arrive within ${Math.round(ms / 1000)} s (REEF_BODY_TIMEOUT); send it at once`, [
    { path: 'body', message: 'arrived too slowly' },
  ]);

export interface BodyRefusals {
  tooLarge?: () => Error;
  timeout?: (ms: number) => Error;
}

/**
 * Reads the request body, refusing more than `limit` bytes without buffering them (with or
 * without a Content-Length: a chunked body is cut as it passes the limit), and refusing a body
 * that takes longer than REEF_BODY_TIMEOUT to arrive: a client trickling a byte every few seconds
 * is answered 408 and its connection closed, instead of holding a socket for as long as it likes.
 */
export const readBytes = async (c: Context<AppEnv>, limit: number, refuse: BodyRefusals = {}): Promise<Buffer> => {
  const tooBig = refuse.tooLarge ?? (() => tooLarge(limit));
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > limit) throw tooBig();
  const stream = c.req.raw.body;
  if (!stream) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  const timeoutMs = c.get('bodyTimeoutMs');
  let timer: LongTimer | undefined;
  const deadline = timeoutMs
    ? new Promise<'timeout'>((resolve) => {
        timer = setLongTimeout(() => resolve('timeout'), timeoutMs);
      })
    : undefined;
  try {
    for (;;) {
      const next = deadline ? await Promise.race([reader.read(), deadline]) : await reader.read();
      if (next === 'timeout') {
        await reader.cancel().catch(() => {});
        c.header('Connection', 'close');
        throw (refuse.timeout ?? timedOut)(timeoutMs!);
      }
      if (next.done) break;
      total += next.value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw tooBig();
      }
      chunks.push(next.value);
    }
  } finally {
    timer?.clear();
  }
  return Buffer.concat(chunks);
};

const readText = async (c: Context<AppEnv>, limit: number): Promise<string> => (await readBytes(c, limit)).toString('utf8');

/**
 * A parsed body within bounds: no deeper than MAX_DEPTH, and no larger once expanded than a few
 * times the body (JSON and alias-free YAML expand to about their own size; anchors used the
 * ordinary way, a little more).
 */
const bounded = (doc: unknown, bytes: number): unknown => {
  const problem = documentShapeProblem(doc, { maxDepth: MAX_DEPTH, maxExpandedBytes: 4 * bytes + 64 * 1024 });
  if (problem) throw fieldError('body', shapeMessage(problem));
  return doc;
};

/** A JSON body parsed and bounded, or a 400 naming `body`. */
const parseJson = (text: string): unknown => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fieldError('body', `JSON syntax error: ${(err as Error).message}`);
  }
  return bounded(doc, text.length);
};

/**
 * Parses a JSON or YAML (Content-Type: application/yaml) body. YAML is read with the JSON
 * schema, so `on`, dates and the like stay strings as the user wrote them.
 */
export const readDocument = async (c: Context<AppEnv>, limit: number): Promise<unknown> => {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const sniff = SNIFF_TYPES.has(type);
  if (!sniff && !YAML_TYPES.has(type) && !JSON_TYPES.has(type) && !type.endsWith('+json')) {
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not supported: send application/json or application/yaml`, [
      { path: 'Content-Type', message: 'expected application/json or application/yaml' },
    ]);
  }
  const text = await readText(c, limit);
  if (text.trim() === '') throw fieldError('body', 'a request body is required');
  const isYaml = YAML_TYPES.has(type) || (sniff && !/^\s*[[{]/.test(text));
  if (isYaml) {
    try {
      return bounded(yaml.load(text, { schema: yaml.JSON_SCHEMA }), text.length);
    } catch (err) {
      const e = err as yaml.YAMLException;
      const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
      throw fieldError('body', `YAML syntax error${where}: ${e.reason ?? e.message}`);
    }
  }
  return parseJson(text);
};

/** Reads an optional JSON body (empty allowed). */
export const readOptionalJson = async (c: Context<AppEnv>, limit: number): Promise<unknown> => {
  const text = await readText(c, limit);
  return text.trim() === '' ? {} : parseJson(text);
};

/** The request body as a Node stream (straight from the socket under @hono/node-server). */
export const bodyStream = (c: Context<AppEnv>): Readable => {
  const incoming = c.env?.incoming;
  if (incoming && 'pipe' in incoming) return incoming as unknown as Readable;
  return c.req.raw.body ? Readable.fromWeb(c.req.raw.body as never) : Readable.from([]);
};
