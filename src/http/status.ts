import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { DomainErrorCode } from '../core/errors.js';

/** The one table from domain error codes to HTTP statuses for /api/v1, /media, /boot and admin. */
export const STATUS_OF: Record<DomainErrorCode, ContentfulStatusCode> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  STORAGE_FULL: 507,
  REQUEST_TIMEOUT: 408,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
};
