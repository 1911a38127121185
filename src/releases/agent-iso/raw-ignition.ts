/**
 * `{"ignition": …}` → the release's coreos.iso with that config embedded, the way
 * assisted-image-service writes it (gzip newc cpio holding config.ign, zero-padded into the
 * embed area of images/ignition.img): reef's live-ISO code, written to a temp file beside
 * `output` and renamed. Errors name the field `ignition`.
 */
import { fieldError } from '../../core/errors.js';
import { checkIgnitionConfig } from '../../ignition/live-iso/config-check.js';
import { LiveIsoError } from '../../ignition/live-iso/errors.js';
import { embedIgnition } from '../../ignition/live-iso/live-iso.js';
import { ReleaseSourceError } from '../errors.js';

export interface RawIgnitionIsoOptions {
  /** The extracted coreos.iso. */
  baseIso: string;
  /** The Ignition config: a JSON string, or the object itself. */
  ignition: unknown;
  output: string;
}

export const embedRawIgnition = async (o: RawIgnitionIsoOptions): Promise<{ iso: string; packedBytes: number }> => {
  const text = typeof o.ignition === 'string' ? o.ignition : o.ignition && typeof o.ignition === 'object' && !Array.isArray(o.ignition) ? JSON.stringify(o.ignition) : undefined;
  if (text === undefined) throw fieldError('ignition', 'must be an Ignition config (a JSON object, or a string holding one)');
  const config = Buffer.from(text, 'utf8');
  try {
    checkIgnitionConfig(config);
    const { packedBytes } = await embedIgnition({ input: o.baseIso, output: o.output, config, compression: 'gzip', sync: true });
    return { iso: o.output, packedBytes };
  } catch (err) {
    if (!(err instanceof LiveIsoError)) throw err;
    if (err.code === 'BAD_CONFIG' || err.code === 'TOO_LARGE') throw fieldError('ignition', err.message);
    throw new ReleaseSourceError(`${o.baseIso} cannot take an Ignition config: ${err.message}`);
  }
};
