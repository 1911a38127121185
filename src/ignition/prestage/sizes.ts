import { PrestageInputError } from './errors.js';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/**
 * Parses a size in binary units: `100G`, `100GiB`, `512M`, `1.5T`, `4096` (bytes). K/M/G/T/P mean
 * KiB/MiB/GiB/TiB/PiB (as sgdisk and the prototype scripts read them); a trailing `B` or `iB` is
 * allowed. Errors name `field` (the flag or key the text came from).
 */
export const parseSize = (text: string, field: string): number => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) throw new PrestageInputError(field, `${JSON.stringify(text)} is not a size (examples: 100G, 100GiB, 512M)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new PrestageInputError(field, `${JSON.stringify(text)} must be more than 0 bytes`);
  return bytes;
};

/** The largest binary unit that divides `bytes` exactly, as sgdisk reads it: `100G`, `1536M`, `4096K`. */
export const sgdiskSize = (bytes: number): string => {
  for (const unit of ['T', 'G', 'M', 'K']) {
    const n = UNITS[unit]!;
    if (bytes % n === 0) return `${bytes / n}${unit}`;
  }
  throw new PrestageInputError('--size', `${bytes} bytes is not a whole number of KiB`);
};

/** Human figure for messages: `400.0 GiB`. */
export const formatBytes = (bytes: number): string => {
  for (const unit of ['P', 'T', 'G', 'M', 'K']) {
    const n = UNITS[unit]!;
    if (bytes >= n) return `${(bytes / n).toFixed(1)} ${unit}iB`;
  }
  return `${bytes} B`;
};
