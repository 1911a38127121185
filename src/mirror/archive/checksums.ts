/**
 * The chunk checksum list: one `SHA256SUMS` file beside the chunks, in `sha256sum` format
 * (`<64 hex>  mirror_000001.tar`, one line per chunk, in chunk order), so
 * `sha256sum -c SHA256SUMS` checks a copied set with no reef at hand. One list rather than a
 * `.sha256` per chunk: a chunk lost in transit is then missed, not silently absent (and
 * oc-mirror's unanchored `mirror_[0-9]{6}\.tar` match would take `mirror_000001.tar.sha256`
 * for a chunk).
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { MirrorArchiveError } from './errors.js';
import { CHECKSUMS_FILE } from './layout.js';

export interface ChunkSum {
  name: string;
  sha256: string;
}

export const formatChecksums = (sums: ChunkSum[]): string => sums.map((s) => `${s.sha256}  ${s.name}\n`).join('');

/** Parses a `sha256sum` list (text or `*` binary marker); a malformed line is an error naming it. */
export const parseChecksums = (text: string): ChunkSum[] => {
  const out: ChunkSum[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([a-f0-9]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new MirrorArchiveError('CHECKSUMS_MISSING', `${CHECKSUMS_FILE} line ${i + 1} is not "<sha256>  <file>"`, { file: CHECKSUMS_FILE });
    out.push({ sha256: m[1]!, name: m[2]! });
  });
  return out;
};

/** sha256 hex of a file, streamed. */
export const sha256File = async (path: string): Promise<string> => {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
};
