/**
 * What can go wrong writing or reading mirror archives. Each error names the file at fault
 * (`file`: a chunk, a blob digest, a history file) so the operator knows what to re-copy.
 */
export type MirrorArchiveErrorCode =
  /** The SHA256SUMS list is absent: the set was not finished, or not copied whole. */
  | 'CHECKSUMS_MISSING'
  /** A chunk the list names is not in the directory. */
  | 'CHUNK_MISSING'
  /** A chunk is in the directory but not in the list (a leftover, or from another set). */
  | 'CHUNK_UNLISTED'
  /** A chunk's bytes do not match the list: damaged in transit or on the medium. */
  | 'CHUNK_CORRUPT'
  /** A tar header that does not parse (checksum, octal field, truncation). */
  | 'TAR_INVALID'
  /** A blob's bytes do not match its digest or size (fetched, cached or read back). */
  | 'BLOB_MISMATCH'
  /** A blob asked of an archive set that does not hold it. */
  | 'BLOB_UNKNOWN'
  /** An image handed to the writer that is not self-consistent. */
  | 'IMAGE_INVALID'
  /** A history file with a line that is not a digest. */
  | 'HISTORY_INVALID'
  /** A call out of turn (an image added after finish). */
  | 'WRITER_STATE';

export class MirrorArchiveError extends Error {
  readonly code: MirrorArchiveErrorCode;
  readonly file: string | undefined;

  constructor(code: MirrorArchiveErrorCode, message: string, opts: { file?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MirrorArchiveError';
    this.code = code;
    this.file = opts.file;
  }
}
