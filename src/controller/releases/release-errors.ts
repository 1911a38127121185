import type { ApiErrorMapper } from '../../http/errors.js';
import { apiErrorResponse } from '../../http/errors.js';
import { InstallerRunError, ReleaseSourceError } from '../../releases/errors.js';

/**
 * The release core's own errors in reef's envelope (its DomainErrors go through the status
 * table): a release lacking what the request needs is a 409; the release's openshift-install
 * failing or running out of time is a 502 (reef ran it; its log path is in the message).
 */
export const releaseErrorAsApiError: ApiErrorMapper = (err, c) => {
  if (err instanceof ReleaseSourceError) return apiErrorResponse(c, 409, 'CONFLICT', err.message);
  if (err instanceof InstallerRunError) return apiErrorResponse(c, 502, 'INSTALLER_FAILED', err.message);
  return undefined;
};
