/**
 * Names on the pre-cache partition (DESIGN §6), shared by the downloader that writes them and the
 * loader (load-images.sh) that reads them.
 */

/** The image lists: `ai-images.txt` for discovery, `ocp-images.txt` for installation. */
export const PRECACHE_LISTS = ['ai-images', 'ocp-images'] as const;
export type PrecacheList = (typeof PRECACHE_LISTS)[number];

/**
 * The directory (and, with ".tgz", archive) name of an image: the last path segment of its
 * reference with the first ':' replaced by '_'. `quay.io/a/b@sha256:abc` → `b@sha256_abc`,
 * `quay.io/a/troubleshoot:latest` → `troubleshoot_latest`. Same rule as in load-images.sh.
 */
export const imageDirName = (ref: string): string => {
  const seg = ref.slice(ref.lastIndexOf('/') + 1);
  return seg.replace(':', '_');
};

export const imageArchiveName = (ref: string): string => `${imageDirName(ref)}.tgz`;
