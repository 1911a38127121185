/** How the embed area's cpio is compressed (a light module: the CLI checks flags before loading the codecs). */
export const COMPRESSIONS = ['xz', 'gzip'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
