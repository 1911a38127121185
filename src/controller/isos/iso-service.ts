import type { Readable } from 'node:stream';
import { z } from 'zod';
import { COMPRESSIONS } from '../../ignition/live-iso/area-codec.js';
import { checkIgnitionConfig } from '../../ignition/live-iso/config-check.js';
import { LiveIsoError } from '../../ignition/live-iso/errors.js';
import type { embedIgnition, showIgnition } from '../../ignition/live-iso/live-iso.js';
import { isDiskFull } from '../../lib/atomic-file.js';
import { DomainError, fieldError, notFound } from '../../core/errors.js';
import { JOB_ID, newJobId } from '../jobs/ids.js';
import { parseWith } from '../../core/validate.js';

/** Live ISO files; an adapter (file system) implements it. */
export interface IsoStore {
  basePath(name: string): string;
  isoPath(id: string): string;
  /** Streams `body` to a temp file, runs `check` on it, then moves it into place as base `name`. */
  receiveBase<T>(name: string, body: Readable, check: (path: string, size: number) => Promise<T>): Promise<{ size: number; created: boolean; info: T }>;
  listBases(): Promise<{ name: string; size: number; mtimeMs: number }[]>;
  /** Generated ISOs, newest first (ids are ULIDs), at most `limit`. */
  listGenerated(limit: number): Promise<{ id: string; size: number; mtimeMs: number }[]>;
  baseExists(name: string): Promise<boolean>;
  prepareGenerated(): Promise<void>;
  statIso(id: string): Promise<{ size: number; mtimeMs: number } | undefined>;
  removeIso(id: string): Promise<void>;
}

export const BASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const BASE_NAME_RULE = '1-100 letters, digits, ".", "_" or "-", starting with a letter or digit';
/** Generated ISO ids are ULIDs, like job ids. */
const ISO_ID = JOB_ID;

export const isoCreateSchema = z
  .object({
    base: z.string().regex(BASE_NAME, BASE_NAME_RULE),
    ignition: z.unknown().optional(),
    compression: z.enum(COMPRESSIONS).default('xz'),
  })
  .strict();

const storageFull = () => new DomainError('STORAGE_FULL', 'no space left to write the ISO under the data directory; nothing partial was kept');

/** Uploaded base live ISOs, and ISOs generated from them with an embedded Ignition config. */
export const createIsoService = (deps: {
  store: IsoStore;
  live: { show: typeof showIgnition; embed: typeof embedIgnition };
  /** Public URL (signed when media signing is on) of a /media path. */
  mediaUrl: (path: string) => string;
  publicUrl: string;
  now: () => number;
}) => {
  const { store } = deps;
  const isoView = (id: string, size: number, createdMs: number) => ({
    id,
    url: deps.mediaUrl(`/media/isos/${id}.iso`),
    boot_url: `${deps.publicUrl}/boot.ipxe?iso=${id}`,
    size,
    created_at: new Date(createdMs).toISOString(),
  });
  const existingIso = async (id: string) => {
    const st = ISO_ID.test(id) ? await store.statIso(id) : undefined;
    if (!st) throw notFound('ISO', id);
    return st;
  };

  /** The config bytes from `ignition` as an object or a JSON string, checked. */
  const configBytes = (ignition: unknown): Buffer => {
    if (ignition === undefined) throw fieldError('ignition', 'required: an Ignition config object or a JSON string');
    const isObject = typeof ignition === 'object' && ignition !== null && !Array.isArray(ignition);
    if (typeof ignition !== 'string' && !isObject) throw fieldError('ignition', 'must be an Ignition config object or a JSON string');
    const bytes = Buffer.from(typeof ignition === 'string' ? ignition : JSON.stringify(ignition));
    try {
      checkIgnitionConfig(bytes);
    } catch (err) {
      throw fieldError('ignition', (err as Error).message);
    }
    return bytes;
  };

  return {
    async putBase(name: string, body: Readable, declaredLength: number | undefined) {
      if (!BASE_NAME.test(name)) throw fieldError('name', `must be ${BASE_NAME_RULE}`);
      const check = async (path: string, size: number) => {
        if (size === 0) throw fieldError('body', 'an ISO image is required as the request body');
        if (declaredLength !== undefined && size !== declaredLength) throw fieldError('Content-Length', `the upload ended after ${size} of ${declaredLength} bytes`);
        try {
          const shown = await deps.live.show(path);
          return { embedArea: { file: shown.area.file, offset: shown.area.offset, length: shown.area.length }, embedded: shown.config !== undefined };
        } catch (err) {
          if (err instanceof LiveIsoError && err.code === 'BAD_AREA') return { embedArea: null, embedded: true };
          if (err instanceof LiveIsoError) throw fieldError('body', `not a CoreOS live ISO: ${err.message}`);
          throw err;
        }
      };
      try {
        const { size, created, info } = await store.receiveBase(name, body, check);
        return { created, base: { name, size, embed_area: info.embedArea, has_embedded_config: info.embedded } };
      } catch (err) {
        if (isDiskFull(err)) throw storageFull();
        throw err;
      }
    },

    async listBases() {
      const items = await store.listBases();
      return { items: items.map((b) => ({ name: b.name, size: b.size, updated_at: new Date(b.mtimeMs).toISOString() })) };
    },

    /** The newest generated ISOs, with their media and sanboot URLs. */
    async listGenerated(limit = 100) {
      return { items: (await store.listGenerated(limit)).map((g) => isoView(g.id, g.size, g.mtimeMs)) };
    },

    async create(input: unknown) {
      const body = parseWith(isoCreateSchema, input, 'ISO request');
      const config = configBytes(body.ignition);
      if (!(await store.baseExists(body.base))) throw notFound('base ISO', body.base);
      const id = newJobId(deps.now());
      await store.prepareGenerated();
      try {
        const { area, packedBytes } = await deps.live.embed({
          input: store.basePath(body.base),
          output: store.isoPath(id),
          config,
          compression: body.compression,
          force: true,
          sync: true,
        });
        const st = await existingIso(id);
        return {
          ...isoView(id, st.size, st.mtimeMs),
          base: body.base,
          compression: body.compression,
          ignition_bytes: config.length,
          compressed_bytes: packedBytes,
          embed_area: { file: area.file, offset: area.offset, length: area.length },
        };
      } catch (err) {
        if (err instanceof LiveIsoError && err.code === 'TOO_LARGE') throw fieldError('ignition', err.message);
        if (err instanceof LiveIsoError) throw fieldError('base', err.message);
        if (isDiskFull(err)) throw storageFull();
        throw err;
      }
    },

    async get(id: string) {
      const st = await existingIso(id);
      return isoView(id, st.size, st.mtimeMs);
    },

    async remove(id: string) {
      await existingIso(id);
      await store.removeIso(id);
    },

    /** The file to stream for GET /media/isos/<id>.iso. */
    async mediaPath(id: string): Promise<string> {
      await existingIso(id);
      return store.isoPath(id);
    },

    /** For /boot.ipxe?iso=<id>: the URL iPXE sanboots. */
    async bootUrl(id: string): Promise<string> {
      if (!ISO_ID.test(id)) throw fieldError('iso', 'not an ISO id (26 characters, as returned by POST /api/v1/isos)');
      await existingIso(id);
      return deps.mediaUrl(`/media/isos/${id}.iso`);
    },
  };
};
export type IsoService = ReturnType<typeof createIsoService>;
