import type { BlobRef, ManifestNode } from '../mirror/archive/image-input.js';
import { fetchTree, treeBlobs } from '../mirror/manifest-tree.js';
import { mapPool } from '../mirror/pool.js';
import { readLocalRelease } from './clone.js';
import { checkedBlob, type LocalRegistry } from './local-registry.js';
import type { VerifyReport } from './release.js';

/**
 * Whether reef's copy of a release is whole. Every manifest is read back by digest (its bytes
 * checked against it). Blobs: `deep` reads each through to its end with its digest
 * checked (a blob missing, truncated or altered on disk counts as absent: `POST …/verify`);
 * otherwise each must be present in the repository (HEAD), which the registry grants only to a
 * blob whose digest it checked as it was written (the gate before `cloned`; scrub and a deep
 * verify catch later damage). The counts are FastRegistry's verify object.
 */
export interface VerifyDeps {
  local: LocalRegistry;
  localRepo: string;
  tag: string;
  parallel: number;
  /** Read every blob back and hash it (else: present in the repository). */
  deep: boolean;
  signal?: AbortSignal;
}

const MAX_PROBLEMS = 20;

export const verifyRelease = async (d: VerifyDeps): Promise<VerifyReport> => {
  const problems: string[] = [];
  const problem = (m: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(m);
  };
  const report: VerifyReport = {
    complete: false,
    release_blobs_expected: 0,
    release_blobs_present: 0,
    components_expected: 0,
    component_manifests_ok: 0,
    component_blobs_expected: 0,
    component_blobs_present: 0,
    problems,
  };
  const checked = new Map<string, Promise<boolean>>();
  const blobOk = (b: BlobRef) => {
    let p = checked.get(b.digest);
    if (!p) {
      p = (async () => {
        try {
          if (!d.deep) {
            if (await d.local.blobExists(d.localRepo, b.digest)) return true;
            problem(`blob ${b.digest}: not in ${d.localRepo}`);
            return false;
          }
          for await (const chunk of checkedBlob(d.local, d.localRepo, b.digest, b.size, d.signal)) void chunk;
          return true;
        } catch (err) {
          d.signal?.throwIfAborted();
          problem(`blob ${b.digest}: ${(err as Error).message}`);
          return false;
        }
      })();
      checked.set(b.digest, p);
    }
    return p;
  };
  const countPresent = async (blobs: BlobRef[]) => {
    const results = await mapPool(blobs, d.parallel, blobOk);
    return results.filter((r) => r.status === 'fulfilled' && r.value).length;
  };

  let release: ManifestNode;
  try {
    release = (await fetchTree(d.local, d.localRepo, d.tag, ['multi'])).tree;
  } catch (err) {
    problem(`release ${d.localRepo}:${d.tag}: ${(err as Error).message}`);
    return report;
  }
  const releaseBlobs = treeBlobs(release);
  report.release_blobs_expected = releaseBlobs.length;
  report.release_blobs_present = await countPresent(releaseBlobs);
  let components: { name: string; image: string }[];
  try {
    components = (await readLocalRelease(d.local, d.localRepo, release, `${d.localRepo}:${d.tag}`)).components;
  } catch (err) {
    problem(`release ${d.localRepo}:${d.tag}: ${(err as Error).message}`);
    return report;
  }
  report.components_expected = components.length;
  await mapPool(components, d.parallel, async (c) => {
    const digest = /@(sha256:[0-9a-f]{64})$/.exec(c.image)?.[1];
    if (!digest) {
      problem(`component ${c.name}: ${c.image} names no digest`);
      return;
    }
    let tree: ManifestNode;
    try {
      tree = (await fetchTree(d.local, d.localRepo, digest, ['multi'])).tree;
    } catch (err) {
      d.signal?.throwIfAborted();
      problem(`component ${c.name} (${digest}): ${(err as Error).message}`);
      return;
    }
    report.component_manifests_ok++;
    const blobs = treeBlobs(tree);
    report.component_blobs_expected += blobs.length;
    const present = await countPresent(blobs);
    report.component_blobs_present += present;
  });
  d.signal?.throwIfAborted();
  report.complete =
    problems.length === 0 &&
    report.release_blobs_present === report.release_blobs_expected &&
    report.component_manifests_ok === report.components_expected &&
    report.component_blobs_present === report.component_blobs_expected;
  return report;
};
