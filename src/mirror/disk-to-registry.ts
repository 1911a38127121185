import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openArchiveSet } from './archive/reader.js';
import { MAPPING_JSON, type MirrorEvents } from './flows.js';
import { CLUSTER_RESOURCES_DIR, IDMS_FILE, ITMS_FILE, type MirroredImage, renderIdms, renderItms } from './idms.js';
import { parseSourceRef } from './image-ref.js';
import type { MirrorImage } from './naming.js';
import type { ClientPool } from './sources.js';
import { writeFile } from 'node:fs/promises';

const streamText = async (s: NodeJS.ReadableStream): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * disk-to-registry, fully offline: every chunk checked against SHA256SUMS first (a damaged one
 * stops the run, named), then per image its blobs (each digest verified while read) and its
 * manifests (children before their index, by digest, then each tag) under `<namespace>`. The
 * IDMS/ITMS come from the mapping the mirror-to-disk run kept in its working dir.
 */
export const diskToRegistry = async (
  o: { clients: ClientPool; events: MirrorEvents; now: () => Date },
  from: string,
  dest: { registry: string; namespace: string },
  workingDir: string,
) => {
  const set = await openArchiveSet(from);
  const dst = o.clients(dest.registry);
  const ns = (repo: string) => (dest.namespace ? `${dest.namespace.replace(/\/+$/, '')}/${repo}` : repo);
  const failed: { ref: string; error: string }[] = [];
  let done = 0;
  for (const image of set.images) {
    const ref = `${image.repo}@${image.digest}`;
    try {
      const repo = ns(image.repo);
      if (!image.manifest) {
        o.events.info(`${ref}: shipped by an earlier archive set; its tags ${image.tags.join(', ') || '(none)'} are left as they are`);
        continue;
      }
      if (image.kind === 'image') {
        for (const digest of image.references) {
          if (await dst.blobExists(repo, digest)) continue;
          const size = set.blobSize(digest);
          if (size === undefined) throw new Error(`blob ${digest} is in no archive of this set and not at ${dest.registry}/${repo}: push the earlier archive set first`);
          await dst.uploadBlob(repo, digest, size, set.openBlob(digest));
          o.events.bytes(size);
        }
      }
      await dst.putManifest(repo, image.digest, image.manifest, image.mediaType!);
      for (const tag of image.tags) await dst.putManifest(repo, tag, image.manifest, image.mediaType!);
      o.events.image({ ref, ok: true, index: ++done, total: set.images.length });
    } catch (err) {
      failed.push({ ref, error: (err as Error).message });
      o.events.image({ ref, ok: false, error: (err as Error).message, index: ++done, total: set.images.length });
    }
  }
  const outputs: string[] = [];
  if (set.workingDirFiles.includes(MAPPING_JSON)) {
    const mapping = JSON.parse(await streamText(set.openMember(`working-dir/${MAPPING_JSON}`))) as { kind: MirrorImage['kind']; source: string; repository: string; tag: string }[];
    const mirrored: MirroredImage[] = mapping.map((m) => ({ kind: m.kind, source: parseSourceRef(m.source, MAPPING_JSON), destination: `${dest.registry}/${ns(m.repository)}:${m.tag}` }));
    const dir = join(workingDir, CLUSTER_RESOURCES_DIR);
    await mkdir(dir, { recursive: true });
    for (const [file, text] of [[IDMS_FILE, renderIdms(mirrored, { createdAt: o.now() })], [ITMS_FILE, renderItms(mirrored, { createdAt: o.now() })]] as const) {
      if (!text) continue;
      await writeFile(join(dir, file), text);
      outputs.push(join(dir, file));
    }
  } else {
    o.events.warn(`the archive set carries no ${MAPPING_JSON} (not written by reef mirror): no IDMS/ITMS written`);
  }
  return { images: set.images.length, failed, outputs };
};
