import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { copyInto } from '../../lib/copy-into.js';
import type { IsoStore } from './iso-service.js';

const statOrUndefined = (path: string) =>
  stat(path).then(
    (st) => (st.isFile() ? st : undefined),
    () => undefined,
  );

/**
 * Live ISOs on disk: uploaded bases at <bases>/<name>.iso, generated ISOs at <generated>/<id>.iso.
 * Names and ids are validated by the service before they reach a path.
 */
export const createIsoStore = (dirs: { bases: string; generated: string }): IsoStore => {
  const basePath = (name: string) => join(dirs.bases, `${name}.iso`);
  const isoPath = (id: string) => join(dirs.generated, `${id}.iso`);
  return {
    basePath,
    isoPath,
    async receiveBase(name, body, check) {
      await mkdir(dirs.bases, { recursive: true });
      const tmp = join(dirs.bases, `.upload-${randomBytes(6).toString('hex')}.tmp`);
      try {
        const out = createWriteStream(tmp, { flags: 'wx', highWaterMark: 1024 * 1024 });
        await copyInto(body as Readable, out);
        const size = out.bytesWritten;
        const info = await check(tmp, size);
        const fh = await open(tmp, 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        const existed = (await statOrUndefined(basePath(name))) !== undefined;
        await rename(tmp, basePath(name));
        return { size, created: !existed, info };
      } finally {
        await rm(tmp, { force: true });
      }
    },
    async listBases() {
      await mkdir(dirs.bases, { recursive: true });
      const out: { name: string; size: number; mtimeMs: number }[] = [];
      for (const file of (await readdir(dirs.bases)).sort()) {
        if (!file.endsWith('.iso') || file.startsWith('.')) continue;
        const st = await statOrUndefined(join(dirs.bases, file));
        if (st) out.push({ name: file.slice(0, -4), size: st.size, mtimeMs: st.mtimeMs });
      }
      return out;
    },
    async listGenerated(limit) {
      await mkdir(dirs.generated, { recursive: true });
      const ids = (await readdir(dirs.generated))
        .filter((f) => /^[0-9A-HJKMNP-TV-Z]{26}\.iso$/.test(f))
        .map((f) => f.slice(0, -4))
        .sort()
        .reverse()
        .slice(0, limit);
      const out: { id: string; size: number; mtimeMs: number }[] = [];
      for (const id of ids) {
        const st = await statOrUndefined(isoPath(id));
        if (st) out.push({ id, size: st.size, mtimeMs: st.mtimeMs });
      }
      return out;
    },
    baseExists: async (name) => (await statOrUndefined(basePath(name))) !== undefined,
    async prepareGenerated() {
      await mkdir(dirs.generated, { recursive: true });
    },
    statIso: async (id) => {
      const st = await statOrUndefined(isoPath(id));
      return st && { size: st.size, mtimeMs: st.mtimeMs };
    },
    removeIso: (id) => rm(isoPath(id), { force: true }),
  };
};
