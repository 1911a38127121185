/**
 * Tar bytes built by hand, for tests that need archives no tar writer would make: one 512-byte
 * header with its checksum filled in (POSIX ustar, or old GNU whose bytes 345.. are not a name
 * prefix), pax records, block padding.
 */
export interface TarHeaderOptions {
  fmt?: 'posix' | 'oldgnu';
  linkname?: string;
  /** Text written where POSIX ustar keeps a name prefix (bytes 345..). */
  prefixArea?: string;
  mode?: number;
}

export const tarHeader = (name: string, type: string, size: number, opts: TarHeaderOptions = {}): Buffer => {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${(opts.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  if (opts.linkname) h.write(opts.linkname, 157, 100, 'utf8');
  if ((opts.fmt ?? 'posix') === 'posix') {
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
  } else {
    h.write('ustar  \0', 257, 'latin1');
  }
  if (opts.prefixArea) h.write(opts.prefixArea, 345, 155, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
};

/** One pax record, "<len> key=value\n", its length counting itself. */
export const paxRecord = (key: string, value: string): string => {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
  return `${len}${body}`;
};

/** `b` padded with zeros to a whole number of 512-byte blocks. */
export const padBlock = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
