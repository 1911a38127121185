/**
 * A full image push as a client such as skopeo does it (HEAD each blob, upload the missing ones,
 * PUT the manifest), without assertions on the way, so that GC tests can tell an allowed
 * outcome (the registry says a blob or upload is unknown: retry) from a broken one (anything else).
 */
import { type Fetch, finishUpload, patchChunk, withQuery } from './client.js';
import { type Blob, configBlob, descriptorOf, imageManifest, type Manifest, MT, randomBlob } from './oci.js';

export interface Image {
  repo: string;
  tag: string;
  blobs: Blob[];
  manifest: Manifest;
}

/** A unique image: own config, one own layer, plus the shared layers given (e.g. a common base). */
export const makeImage = (repo: string, tag: string, shared: Blob[] = []): Image => {
  const config = configBlob();
  const layers = [...shared, randomBlob(20_000 + Math.floor(Math.random() * 50_000))];
  const manifest = imageManifest(descriptorOf(config, MT.ociConfig), layers.map((l) => descriptorOf(l, MT.ociLayer)));
  return { repo, tag, blobs: [config, ...layers], manifest };
};

interface Answer {
  status: number;
  code: string | undefined;
  text: string;
}

const answer = async (res: Response): Promise<Answer> => {
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, text };
};

/** Uploads a blob one of three ways: 0 monolithic POST, 1 POST + PUT, 2 POST + PATCH chunks + PUT. */
const upload = async (f: Fetch, base: string, repo: string, b: Blob, mode: number): Promise<Answer> => {
  const octet = { 'content-type': 'application/octet-stream', 'content-length': String(b.size) };
  if (mode === 0) return answer(await f(`/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', headers: octet, body: b.bytes }));
  const post = await f(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (post.status !== 202) return answer(post);
  await post.arrayBuffer();
  let location = withQuery(base, post.headers.get('location')!);
  if (mode === 1) return answer(await finishUpload(f, base, location, b.digest, b.bytes));
  for (let start = 0; start < b.size; start += 16_384) {
    const res = await patchChunk(f, location, start, b.bytes.subarray(start, Math.min(start + 16_384, b.size)));
    if (res.status !== 202) return answer(res);
    await res.arrayBuffer();
    location = withQuery(base, res.headers.get('location')!);
  }
  return answer(await finishUpload(f, base, location, b.digest));
};

export class PushBroken extends Error {}

/**
 * Pushes `img`, retrying (up to `maxAttempts`) when the registry answers BLOB_UPLOAD_UNKNOWN
 * (GC swept the session) or MANIFEST_BLOB_UNKNOWN (GC swept a blob first): both are outcomes the
 * design allows. Any other failure throws PushBroken. Returns the attempt that succeeded, or 0
 * when every attempt was refused (with grace 0s and GC in a loop a push can be starved: allowed).
 */
export const pushImageRetrying = async (f: Fetch, base: string, img: Image, variant: number, maxAttempts: number): Promise<number> => {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let retry = false;
    for (const [j, b] of img.blobs.entries()) {
      const head = await f(`/v2/${img.repo}/blobs/${b.digest}`, { method: 'HEAD' });
      if (head.status === 200) continue;
      const a = await upload(f, base, img.repo, b, (variant + j) % 3);
      if (a.status === 201) continue;
      if (a.status === 404 && a.code === 'BLOB_UPLOAD_UNKNOWN') {
        retry = true;
        break;
      }
      throw new PushBroken(`${img.repo}:${img.tag} upload of ${b.digest} (mode ${(variant + j) % 3}): ${a.status} ${a.text}`);
    }
    if (retry) continue;
    const put = await answer(
      await f(`/v2/${img.repo}/manifests/${img.tag}`, { method: 'PUT', headers: { 'content-type': img.manifest.mediaType }, body: img.manifest.bytes }),
    );
    if (put.status === 201) return attempt;
    if (put.status === 400 && put.code === 'MANIFEST_BLOB_UNKNOWN') {
      continue;
    }
    throw new PushBroken(`${img.repo}:${img.tag} manifest PUT: ${put.status} ${put.text}`);
  }
  return 0;
};
