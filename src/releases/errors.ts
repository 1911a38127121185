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

/** The release has no openshift-install for this architecture (extracted): an agent ISO cannot be built (409). */
export class NoInstallerError extends DomainError {
  constructor(
    readonly version: string,
    readonly arch: string,
  ) {
    super('CONFLICT', `release ${version} has no openshift-install for ${arch}: extract it first, or use {"ignition": …} to embed a config into its coreos.iso`);
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
