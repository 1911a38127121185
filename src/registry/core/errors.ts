/**
 * OCI distribution error codes and their HTTP statuses: the one descriptor table. Core code
 * throws RegistryError with a code; only the /v2 adapter turns it into a response.
 */
export const DESCRIPTORS = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 415, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  RANGE_INVALID: { status: 416, message: 'requested range not satisfiable' },
  STORAGE_FULL: { status: 507, message: 'registry storage is full' },
  /** distribution's code for a registry that cannot serve the request now (503). */
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
} as const;

export type RegistryErrorCode = keyof typeof DESCRIPTORS;

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly detail: unknown;
  /** Overrides the table's status where the spec gives a code two statuses (416 upload ranges, 405). */
  readonly status: number;
  /** Extra response headers (e.g. Range and Location on a 416 upload answer). */
  readonly headers: Record<string, string>;

  constructor(code: RegistryErrorCode, message?: string, opts: { detail?: unknown; status?: number; headers?: Record<string, string> } = {}) {
    super(message ?? DESCRIPTORS[code].message);
    this.name = 'RegistryError';
    this.code = code;
    this.detail = opts.detail ?? null;
    this.status = opts.status ?? DESCRIPTORS[code].status;
    this.headers = opts.headers ?? {};
  }
}
