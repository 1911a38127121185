/**
 * Domain errors of the controller core. They carry a stable `code`, a message and, for bad
 * input, the fields at fault. They know nothing about HTTP: each surface maps them once.
 */
export interface FieldIssue {
  path: string;
  message: string;
}

export type DomainErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'STORAGE_FULL'
  | 'REQUEST_TIMEOUT'
  | 'TOO_MANY_REQUESTS'
  | 'NOT_IMPLEMENTED'
  | 'INTERNAL';

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly details: FieldIssue[];

  /** Seconds the client should wait before trying again (sent as Retry-After). */
  readonly retryAfter: number | undefined;

  constructor(code: DomainErrorCode, message: string, details: FieldIssue[] = [], opts: { retryAfter?: number } = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
    this.retryAfter = opts.retryAfter;
  }
}

export const validationError = (details: FieldIssue[], what = 'request'): DomainError => {
  const first = details[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid input';
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new DomainError('VALIDATION_FAILED', `invalid ${what}: ${summary}${more}`, details);
};

export const fieldError = (path: string, message: string, what = 'request'): DomainError =>
  validationError([{ path, message }], what);

export const notFound = (what: string, id: string): DomainError =>
  new DomainError('NOT_FOUND', `${what} ${JSON.stringify(id)} not found`);

export const conflict = (message: string): DomainError => new DomainError('CONFLICT', message);

export const unauthorized = (message: string): DomainError =>
  new DomainError('UNAUTHORIZED', message);

export const forbidden = (message: string): DomainError => new DomainError('FORBIDDEN', message);
