/** Anything with a positional read: a fs.promises FileHandle, or a test double. */
export interface ReadAt {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * Fills `buf` from `src` at `position`, looping over short reads (a file returns fewer bytes only
 * at its end). If the source ends first, throws what `ended()` makes. Returns `buf`.
 */
export const readFully = async (src: ReadAt, buf: Buffer, position: number, ended: () => Error): Promise<Buffer> => {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await src.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw ended();
    done += bytesRead;
  }
  return buf;
};
