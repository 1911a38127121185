import { answeredInPlainHttp, tlsVerifyCode } from '../../lib/tls-errors.js';
import { OciClientError } from './errors.js';

export interface RetryEvent {
  /** What was being done: `get blob sha256:…`, `token`, … */
  what: string;
  /** 1 for the first retry. */
  attempt: number;
  /** The wait before it (0 after a dropped transfer that had made progress). */
  delayMs: number;
  /** The HTTP status that caused it, when there was an answer. */
  status?: number;
  reason: string;
}

export interface RetryPolicy {
  /** Attempts after the first (default 5). */
  retries: number;
  /** Base of the exponential backoff, in ms (default 1000): about base·2^n, jittered. */
  retryDelayMs: number;
  /** Longest wait between two attempts, Retry-After included (default 60 s). */
  maxDelayMs?: number;
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Network failures worth another try: the connection reset or cut, a timeout, a name lookup that
 * may resolve later, a registry restarting (refused for a moment).
 */
const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ECONNREFUSED', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);
const NETWORK_MESSAGE = /socket hang up|timeout|timed out|no data for|connection closed|aborted|premature close/i;

const isNetworkFailure = (err: unknown): boolean => {
  let e = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (typeof message === 'string' && NETWORK_MESSAGE.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
};

/**
 * True when another attempt may succeed: a 429, 408 or 5xx answer, a dropped or timed-out
 * connection. Never a certificate that does not verify, nor a plain-HTTP answer to HTTPS: those
 * are the same on every attempt.
 */
export const isRetryable = (err: unknown): boolean => {
  if (tlsVerifyCode(err) !== undefined || answeredInPlainHttp(err)) return false;
  if (err instanceof OciClientError) return err.retryable || (err.status === undefined && isNetworkFailure(err.cause));
  return isNetworkFailure(err);
};

/** Retry-After as ms to wait: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export const parseRetryAfter = (value: string | string[] | undefined, now = Date.now()): number | undefined => {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};

/** The wait before retry n+1 (n from 0): base·2^n capped, with "equal jitter" (half fixed, half random). */
export const backoffDelay = (n: number, baseMs: number, maxMs: number, random: () => number = Math.random): number => {
  const full = Math.min(maxMs, baseMs * 2 ** n);
  return Math.round(full / 2 + (random() * full) / 2);
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => (done(), reject(signal?.reason ?? new Error('aborted')));
    const timer = setTimeout(() => (done(), resolve()), ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });

export interface Retrier {
  /**
   * After attempt `n` (from 0) failed with `err`: rethrows it when it is not worth another try
   * (or the retries are spent, or `signal` aborted), else reports the retry and waits: no wait
   * when the attempt `progressed` (a transfer cut after some bytes resumes at once), Retry-After
   * when the registry gave one, the backoff otherwise.
   */
  pause(what: string, err: unknown, n: number, opts?: { signal?: AbortSignal; progressed?: boolean }): Promise<void>;
  /** Runs `attempt` until it succeeds or `pause` rethrows. */
  run<T>(what: string, attempt: (n: number) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export const createRetrier = (policy: RetryPolicy): Retrier => {
  const maxDelayMs = policy.maxDelayMs ?? 60_000;
  const pause: Retrier['pause'] = async (what, err, n, opts = {}) => {
    if (opts.signal?.aborted || n >= policy.retries || !isRetryable(err)) throw err;
    const status = err instanceof OciClientError ? err.status : undefined;
    const retryAfter = err instanceof OciClientError ? err.retryAfterMs : undefined;
    const delayMs = opts.progressed ? 0 : retryAfter !== undefined ? Math.min(retryAfter, maxDelayMs) : backoffDelay(n, policy.retryDelayMs, maxDelayMs);
    policy.onRetry?.({ what, attempt: n + 1, delayMs, ...(status !== undefined ? { status } : {}), reason: (err as Error)?.message ?? String(err) });
    await sleep(delayMs, opts.signal);
  };
  return {
    pause,
    async run(what, attempt, signal) {
      for (let n = 0; ; n++) {
        try {
          return await attempt(n);
        } catch (err) {
          await pause(what, err, n, signal ? { signal } : {});
        }
      }
    },
  };
};
