/**
 * Mapping of original file names onto ISO 9660 file identifiers ("NAME.EXT;1", d-characters
 * only, level-2 length) and the ordering of directory records that ECMA-119 9.3 requires.
 */
import { ISO_EXT_MAX, ISO_NAME_MAX } from './constants.js';

interface IsoNameParts {
  base: string;
  ext: string;
}

const NON_D_CHARS = /[^A-Z0-9_]/g;

/** Splits at the last '.', uppercases and replaces every non d-character by '_'. */
const splitName = (name: string): IsoNameParts => {
  const upper = name.toUpperCase();
  const dot = upper.lastIndexOf('.');
  const base = (dot >= 0 ? upper.slice(0, dot) : upper).replace(NON_D_CHARS, '_');
  const ext = (dot >= 0 ? upper.slice(dot + 1) : '').replace(NON_D_CHARS, '_');
  return { base, ext };
};

/** Builds "BASE.EXT" (no version), with `suffix` appended to the base, within the length limit. */
const compose = ({ base, ext }: IsoNameParts, suffix = ''): string => {
  const e = ext.slice(0, ISO_EXT_MAX);
  const room = ISO_NAME_MAX - 1 - e.length - suffix.length;
  return `${base.slice(0, Math.max(0, room))}${suffix}.${e}`;
};

/**
 * Assigns each (already validated, unique) name a unique ISO identifier without the ";1"
 * version. The result does not depend on the order of `names`: names claim their plain
 * mapping in byte order first, and names whose mapping is taken then get "_<n>" suffixes.
 */
export const assignIsoNames = (names: readonly string[]): Map<string, string> => {
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const taken = new Set<string>();
  const result = new Map<string, string>();
  const pending: string[] = [];
  for (const name of sorted) {
    const candidate = compose(splitName(name));
    if (taken.has(candidate)) {
      pending.push(name);
    } else {
      taken.add(candidate);
      result.set(name, candidate);
    }
  }
  for (const name of pending) {
    const parts = splitName(name);
    for (let n = 1; ; n++) {
      const candidate = compose(parts, `_${n}`);
      if (!taken.has(candidate)) {
        taken.add(candidate);
        result.set(name, candidate);
        break;
      }
    }
  }
  return result;
};

const compareBytes = (a: string, b: string): number => {
  // Identifiers hold d-characters only, all above the 0x20 padding byte of ECMA-119 9.3,
  // so "pad the shorter with spaces" is the same as "a proper prefix sorts first".
  return a < b ? -1 : a > b ? 1 : 0;
};

/**
 * Orders identifiers "BASE.EXT" as ECMA-119 9.3 requires: by file name, then by extension
 * (the version number, always 1 here, would then sort descending).
 */
export const compareIsoNames = (a: string, b: string): number => {
  const da = a.lastIndexOf('.');
  const db = b.lastIndexOf('.');
  return (
    compareBytes(a.slice(0, da), b.slice(0, db)) || compareBytes(a.slice(da + 1), b.slice(db + 1))
  );
};
