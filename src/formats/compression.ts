/** Compression of a stream told by its first bytes (magic numbers): the rootfs agent and release extraction share it. */
export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

/** Detects the compression of a stream from its first bytes (at least six). */
export const detectCompression = (head: Buffer): Compression => {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
};
