import { LiveIsoError } from './errors.js';

/**
 * The minimal check before embedding: JSON, an object, with a string `ignition.version`
 * (x.y.z). Full validation of Ignition configs lives with the Ignition model; this only keeps a
 * stray file (a Butane YAML, a shell script) from being booted as a config.
 */
export const checkIgnitionConfig = (bytes: Buffer): void => {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new LiveIsoError('BAD_CONFIG', `the Ignition config is not JSON: ${(err as Error).message}`);
  }
  const version = (doc as { ignition?: { version?: unknown } } | null)?.ignition?.version;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new LiveIsoError('BAD_CONFIG', 'the Ignition config must be a JSON object');
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(-[a-z0-9.]+)?$/.test(version)) {
    throw new LiveIsoError('BAD_CONFIG', 'the Ignition config has no ignition.version (e.g. {"ignition":{"version":"3.2.0"}})');
  }
};
