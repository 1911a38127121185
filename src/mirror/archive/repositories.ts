/**
 * The repositories part of an archive: per repository the manifests (revisions), tags and linked
 * blobs that distribution's storage needs to serve them, turned into link-file members.
 */
import { MirrorArchiveError } from './errors.js';
import { layerLinkPath, linkBytes, revisionLinkPath, tagCurrentLinkPath, tagIndexLinkPath } from './layout.js';
import type { ArchiveEntry } from './plan.js';

interface RepoRecord {
  tags: Map<string, string>;
  manifests: Set<string>;
  layers: Set<string>;
}

export const createRepositoryIndex = () => {
  const repos = new Map<string, RepoRecord>();
  return {
    /** Records manifests (a top one and its children), the blobs they use and a tag on the top one. */
    add(repo: string, tag: string | undefined, manifests: string[], blobs: string[]): void {
      let r = repos.get(repo);
      if (!r) repos.set(repo, (r = { tags: new Map(), manifests: new Set(), layers: new Set() }));
      if (tag !== undefined) {
        const was = r.tags.get(tag);
        if (was !== undefined && was !== manifests[0]) {
          throw new MirrorArchiveError('IMAGE_INVALID', `${repo}:${tag} added twice with different manifests (${was}, ${manifests[0]})`);
        }
        r.tags.set(tag, manifests[0]!);
      }
      for (const m of manifests) r.manifests.add(m);
      for (const b of blobs) r.layers.add(b);
    },
    /** Every link file, sorted by path. */
    entries(): ArchiveEntry[] {
      const out: ArchiveEntry[] = [];
      const link = (path: string, digest: string) => {
        const bytes = linkBytes(digest);
        out.push({ path, size: bytes.length, source: { kind: 'bytes', bytes } });
      };
      for (const [repo, r] of repos) {
        for (const m of r.manifests) link(revisionLinkPath(repo, m), m);
        for (const [tag, m] of r.tags) {
          link(tagCurrentLinkPath(repo, tag), m);
          link(tagIndexLinkPath(repo, tag, m), m);
        }
        for (const b of r.layers) link(layerLinkPath(repo, b), b);
      }
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
  };
};
