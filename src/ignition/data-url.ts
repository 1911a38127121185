/**
 * `data:` URLs (RFC 2397) as Ignition reads them in `contents.source`:
 * `data:[<mediatype>][;base64],<data>`, the data base64 or percent-encoded.
 */

export type DataUrlEncoding = 'base64' | 'percent';

/** Percent-encodes everything but RFC 3986 unreserved characters. */
const percentEncode = (data: Buffer): string => {
  let out = '';
  for (const b of data) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
};

/** Builds a data URL: base64 (`data:;base64,…`) or percent-encoded (`data:,…`). */
export const toDataUrl = (content: string | Buffer, encoding: DataUrlEncoding = 'base64', mediaType = ''): string => {
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return encoding === 'base64' ? `data:${mediaType};base64,${data.toString('base64')}` : `data:${mediaType},${percentEncode(data)}`;
};

export class DataUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataUrlError';
  }
}

const percentDecode = (text: string): Buffer => {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new DataUrlError(`bad percent escape ${JSON.stringify(text.slice(i, i + 3))} at offset ${i}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes);
};

/** Whether a source is a data URL (scheme compared case-insensitively). */
export const isDataUrl = (source: string): boolean => /^data:/i.test(source);

/**
 * Decodes a data URL, or throws DataUrlError saying what is wrong: no comma, control
 * characters (a raw newline), a bad percent escape, or base64 that is not canonical
 * (characters outside the alphabet, missing padding).
 */
export const decodeDataUrl = (url: string): { mediaType: string; data: Buffer } => {
  if (!isDataUrl(url)) throw new DataUrlError('not a data: URL');
  const comma = url.indexOf(',');
  if (comma < 0) throw new DataUrlError('data: URL has no "," before its data');
  const bad = /[\u0000-\u001f\u007f]/.exec(url);
  if (bad) throw new DataUrlError(`data: URL contains a control character (code ${bad[0].charCodeAt(0)}) at offset ${bad.index}; percent-encode it`);
  const meta = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  const isBase64 = /;base64$/i.test(meta);
  const mediaType = isBase64 ? meta.slice(0, -';base64'.length) : meta;
  if (!isBase64) return { mediaType, data: percentDecode(payload) };
  const text = percentDecode(payload).toString('latin1');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new DataUrlError('data: URL says base64 but its data is not valid base64 (alphabet A-Z a-z 0-9 + /, padded with "=" to a multiple of 4)');
  }
  return { mediaType, data: Buffer.from(text, 'base64') };
};
