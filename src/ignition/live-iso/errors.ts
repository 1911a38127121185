/** Errors of live-ISO embedding; the CLI and the HTTP service each map them once. */
export type LiveIsoErrorCode =
  /** The file is not an ISO 9660 image, or has no embed area (not a CoreOS live ISO). */
  | 'NOT_LIVE_ISO'
  /** The Ignition config is not JSON with ignition.version. */
  | 'BAD_CONFIG'
  /** The compressed config does not fit the embed area. */
  | 'TOO_LARGE'
  /** A config is already embedded and --force was not given. */
  | 'ALREADY_EMBEDDED'
  /** No config is embedded (pristine ISO). */
  | 'NOT_EMBEDDED'
  /** The embed area holds something that is not a readable compressed cpio with config.ign. */
  | 'BAD_AREA';

export class LiveIsoError extends Error {
  constructor(
    readonly code: LiveIsoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LiveIsoError';
  }
}
