/**
 * Content of the embed area: a newc cpio holding `config.ign`, compressed with xz (CRC32
 * check) or gzip, zero-padded to the area's length. An all-zero area is a pristine ISO.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { CpioError, readNewc, writeNewc } from '../../formats/cpio/newc.js';
import { XzFormatError, decodeXz, encodeXz, isXz } from '../../formats/xz/xz.js';
import { LiveIsoError } from './errors.js';

import { type Compression, COMPRESSIONS } from './compressions.js';

export { type Compression, COMPRESSIONS };

const CONFIG_NAME = 'config.ign';
/** Decompressed areas larger than this are refused (a hostile or corrupt image). */
const MAX_DECODED = 64 * 1024 * 1024;

const compress = (cpio: Buffer, compression: Compression): Buffer => (compression === 'xz' ? encodeXz(cpio) : gzipSync(cpio, { level: 9 }));

/** The compressed cpio of `config`, before padding. */
export const packConfig = (config: Buffer, compression: Compression): Buffer => compress(writeNewc([{ name: CONFIG_NAME, data: config, mode: 0o644 }]), compression);

/** The full area bytes for `config`. Refuses (TOO_LARGE, naming both sizes) when it does not fit. */
export const encodeArea = (config: Buffer, areaLength: number, compression: Compression): { bytes: Buffer; packedBytes: number } => {
  const packed = packConfig(config, compression);
  if (packed.length > areaLength) {
    throw new LiveIsoError(
      'TOO_LARGE',
      `the Ignition config does not fit the embed area: ${config.length} bytes compress to ${packed.length} bytes (${compression}), the area holds ${areaLength} bytes`,
    );
  }
  const bytes = Buffer.alloc(areaLength);
  packed.copy(bytes);
  return { bytes, packedBytes: packed.length };
};

export const isPristine = (area: Uint8Array): boolean => area.every((b) => b === 0);

/** The embedded config bytes, or undefined for a pristine (all-zero) area. */
export const decodeArea = (area: Buffer): { config: Buffer; compression: Compression } | undefined => {
  if (isPristine(area)) return undefined;
  let cpio: Buffer;
  let compression: Compression;
  try {
    if (isXz(area)) {
      compression = 'xz';
      cpio = decodeXz(area, MAX_DECODED);
    } else if (area[0] === 0x1f && area[1] === 0x8b) {
      compression = 'gzip';
      cpio = gunzipSync(area, { maxOutputLength: MAX_DECODED });
    } else {
      throw new LiveIsoError('BAD_AREA', 'the embed area holds data that is neither xz nor gzip');
    }
    // The kernel unpacks the cpio in order, a later entry replacing an earlier one of the same
    // name: the config Ignition reads is the last config.ign, and it must be a regular file.
    const member = readNewc(cpio).findLast((m) => m.name.replace(/^(\.\/|\/)+/, '') === CONFIG_NAME);
    if (!member) throw new LiveIsoError('BAD_AREA', `the embed area's cpio has no ${CONFIG_NAME}`);
    if ((member.mode & 0o170000) !== 0o100000) {
      throw new LiveIsoError('BAD_AREA', `the embed area's ${CONFIG_NAME} is not a regular file (mode ${member.mode.toString(8)}); Ignition would not read it`);
    }
    return { config: member.data, compression };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new LiveIsoError('BAD_AREA', `the embed area expands past ${MAX_DECODED} bytes (a gzip bomb, or not an Ignition area); refused`);
    if (err instanceof XzFormatError || err instanceof CpioError || code?.startsWith('Z_')) {
      throw new LiveIsoError('BAD_AREA', `the embed area is damaged: ${(err as Error).message}`);
    }
    throw err;
  }
};
