/**
 * Stamping a release into the binaries it ships, as `oc adm release extract` does (facts from
 * openshift/oc pkg/cli/admin/release/extract_tools.go): a binary built to be stamped holds a
 * placeholder per value, a NUL, the marker name, a NUL, padding `X`s and a final NUL. The first
 * occurrence of each placeholder is overwritten from its first byte with the value and one NUL
 * (the rest of the placeholder stays); a value longer than the placeholder less one byte is
 * refused. A placeholder not found is a warning, not an error (oc says "Unable to make all
 * expected replacements"). Done on the stream: binaries are hundreds of MB and a placeholder
 * may straddle two chunks.
 */
import { Transform, type TransformCallback } from 'node:stream';

const placeholder = (name: string, padding: number) => Buffer.concat([Buffer.from([0]), Buffer.from(name, 'latin1'), Buffer.from([0]), Buffer.alloc(padding, 'X'), Buffer.from([0])]);

/** The placeholders of openshift-install and oc (release pullspec, version, architecture). */
export const PLACEHOLDERS = {
  releaseImage: placeholder('_RELEASE_IMAGE_LOCATION_', 300),
  releaseVersion: placeholder('_RELEASE_VERSION_LOCATION_', 64),
  releaseArchitecture: placeholder('_RELEASE_ARCHITECTURE_LOCATION_', 64),
} as const;

export type StampField = keyof typeof PLACEHOLDERS;

/** What to write where: the value of each placeholder a binary gets. */
export type StampValues = Partial<Record<StampField, string>>;

export class StampError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StampError';
  }
}

interface Pending {
  field: StampField;
  marker: Buffer;
  value: Buffer;
}

/**
 * A Transform that stamps `values` into the bytes passing through. `stamped()` says which
 * placeholders were found (call it after the stream ended). Throws StampError at once for a
 * value that cannot fit its placeholder.
 */
export const createStampTransform = (values: StampValues): Transform & { stamped(): StampField[] } => {
  const pending: Pending[] = [];
  for (const [field, value] of Object.entries(values) as [StampField, string | undefined][]) {
    if (value === undefined) continue;
    const marker = PLACEHOLDERS[field];
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > marker.length - 1) throw new StampError(`the ${field} value has ${bytes.length} bytes, but its placeholder holds at most ${marker.length - 1}`);
    pending.push({ field, marker, value: bytes });
  }
  const done: StampField[] = [];
  // Bytes held back: a placeholder starting in them may end in the next chunk. Anything before
  // them that could start a placeholder would end inside what was searched already.
  const keep = Math.max(0, ...pending.map((p) => p.marker.length - 1));
  let tail = Buffer.alloc(0);

  const search = (buf: Buffer) => {
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i]!;
      const at = buf.indexOf(p.marker);
      if (at < 0) continue;
      p.value.copy(buf, at);
      buf[at + p.value.length] = 0;
      done.push(p.field);
      pending.splice(i, 1);
    }
  };

  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (pending.length === 0) {
        if (tail.length) {
          this.push(tail);
          tail = Buffer.alloc(0);
        }
        cb(null, chunk);
        return;
      }
      const buf = tail.length ? Buffer.concat([tail, chunk]) : Buffer.from(chunk);
      search(buf);
      const hold = pending.length === 0 ? 0 : Math.min(keep, buf.length);
      tail = buf.subarray(buf.length - hold);
      cb(null, buf.subarray(0, buf.length - hold));
    },
    flush(cb: TransformCallback) {
      cb(null, tail.length ? tail : undefined);
    },
  });
  return Object.assign(t, { stamped: () => [...done] });
};
