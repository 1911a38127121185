/**
 * Errors of the release core. Bad input is core's `validationError` (fields named, e.g.
 * `install_config.metadata.name`: a 400); the rest are typed here so the server maps each once.
 */
import { DomainError } from '../core/errors.js';

/** The release in the registry is not what extraction needs (a missing component or platform, a bad manifest or blob). */
export class ReleaseSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseSourceError';
  }
}

/** No extracted openshift-install of the release runs on this server: an agent ISO cannot be built (409). */
export class NoInstallerError extends DomainError {
  constructor(
    readonly version: string,
    readonly arch: string,
    readonly hostArch: string,
  ) {
    super(
      'CONFLICT',
      `release ${version} (${arch}) has no extracted openshift-install that runs on this ${hostArch} server: extract the release first (an ${arch} release ships one for other arches in installer-artifacts), or post {"ignition": …} to embed a config into its coreos.iso`,
    );
    this.name = 'NoInstallerError';
  }
}

/** openshift-install failed, or ran past its timeout; `log` is the path of its kept log. */
export class InstallerRunError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
    this.name = 'InstallerRunError';
  }
}
