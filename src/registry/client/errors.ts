export interface OciClientErrorOptions extends ErrorOptions {
  /** How long the registry asked to wait (Retry-After), in ms. */
  retryAfterMs?: number;
  /** Overrides the rule "429, 408 and 5xx are worth another try, other statuses are not". */
  retryable?: boolean;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** A registry or transfer error: `status` is the HTTP status when there was an answer. */
export class OciClientError extends Error {
  readonly retryAfterMs: number | undefined;
  /** True when another attempt may succeed (a 429 or 5xx, a connection dropped mid-body). */
  readonly retryable: boolean;

  constructor(
    message: string,
    readonly status?: number,
    options?: OciClientErrorOptions,
  ) {
    super(message, options);
    this.name = 'OciClientError';
    this.retryAfterMs = options?.retryAfterMs;
    this.retryable = options?.retryable ?? (status !== undefined && RETRYABLE_STATUS.has(status));
  }
}
