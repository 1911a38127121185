/** Low-level field encoders of ECMA-119: both-endian numbers, padded strings and dates. */

/** 32-bit number recorded little-endian then big-endian (ECMA-119 7.3.3), 8 bytes. */
export const writeBoth32 = (buf: Buffer, offset: number, value: number): void => {
  buf.writeUInt32LE(value, offset);
  buf.writeUInt32BE(value, offset + 4);
};

/** 16-bit number recorded little-endian then big-endian (ECMA-119 7.2.3), 4 bytes. */
export const writeBoth16 = (buf: Buffer, offset: number, value: number): void => {
  buf.writeUInt16LE(value, offset);
  buf.writeUInt16BE(value, offset + 2);
};

/** Writes `text` (ASCII) into a field of `length` bytes, filling the rest with spaces. */
export const writePadded = (buf: Buffer, offset: number, length: number, text: string): void => {
  buf.fill(0x20, offset, offset + length);
  buf.write(text, offset, length, 'latin1');
};

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** Years a 7-byte directory record date can hold (1900 + 0..255). */
export const MIN_YEAR = 1900;
export const MAX_YEAR = 2155;

/** 17-byte dec-datetime (ECMA-119 8.4.26.1): "YYYYMMDDHHMMSScc" in UTC, then offset 0. */
export const decDateTime = (date: Date): Buffer => {
  const out = Buffer.alloc(17);
  const text =
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    pad(Math.floor(date.getUTCMilliseconds() / 10), 2);
  out.write(text, 0, 16, 'latin1');
  out[16] = 0;
  return out;
};

/** "Not specified" dec-datetime: sixteen '0' digits and a zero offset. */
export const unsetDecDateTime = (): Buffer => {
  const out = Buffer.alloc(17, 0x30);
  out[16] = 0;
  return out;
};

/** 7-byte recording date (ECMA-119 9.1.5), also used by RRIP TF entries: UTC, offset 0. */
export const recordDate = (date: Date): Buffer =>
  Buffer.from([
    date.getUTCFullYear() - 1900,
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    0,
  ]);
