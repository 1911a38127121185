import { parseSourceRef as parseRef, type SourceRef } from '../../mirror/image-ref.js';
import { asPrestageError } from './errors.js';

export { registryReference, type SourceRef } from '../../mirror/image-ref.js';
export { imageDirName } from '../precache/layout.js';

/** The mirror core's reference parser (fully qualified names only), its errors as PrestageInputError naming `field`. */
export const parseSourceRef = (text: string, field: string): SourceRef => {
  try {
    return parseRef(text, field);
  } catch (err) {
    throw asPrestageError(err);
  }
};

/**
 * Parses an image list file: one reference per line (the first word), `#` comments and blank
 * lines ignored, duplicates dropped. Errors name the flag and the line: `--ai-images line 3: …`.
 */
export const parseImageList = (text: string, flag: string): SourceRef[] => {
  const seen = new Set<string>();
  const refs: SourceRef[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const word = line.split(/\s+/)[0]!;
    const ref = parseSourceRef(word, `${flag} line ${i + 1}`);
    if (seen.has(ref.text)) return;
    seen.add(ref.text);
    refs.push(ref);
  });
  return refs;
};
