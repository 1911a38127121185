import { Hono } from 'hono';
import { notFound } from '../../core/errors.js';
import { bodyStream, readDocument } from '../../http/body.js';
import type { AppEnv } from '../../http/env.js';
import { sendFile } from '../../http/send-file.js';
import { ISO_MEDIA } from '../media/media-routes.js';
import type { MediaService } from '../media/media-service.js';
import type { IsoService } from './iso-service.js';

/** /api/v1/isos: base live ISOs (streamed uploads) and generated ISOs with embedded Ignition. */
export const createIsoRoutes = (isos: IsoService, maxBody: number) =>
  new Hono<AppEnv>()
    .get('/bases', async (c) => c.json(await isos.listBases()))
    .put('/bases/:name', async (c) => {
      const length = c.req.header('content-length');
      const r = await isos.putBase(c.req.param('name'), bodyStream(c), length === undefined ? undefined : Number(length));
      return c.json(r.base, r.created ? 201 : 200);
    })
    .post('/', async (c) => {
      const iso = await isos.create(await readDocument(c, maxBody));
      c.header('Location', `/api/v1/isos/${iso.id}`);
      return c.json(iso, 201);
    })
    .get('/:id', async (c) => c.json(await isos.get(c.req.param('id'))))
    .delete('/:id', async (c) => {
      await isos.remove(c.req.param('id'));
      return c.body(null, 204);
    });

/** /media/isos/<id>.iso: generated ISOs, streamed with Range like task ISOs (signed when signing is on). */
export const createIsoMediaRoutes = (isos: IsoService, media: MediaService) =>
  new Hono<AppEnv>().get('/:file', async (c) => {
    const m = /^(.+)\.iso$/.exec(c.req.param('file'));
    if (!m) throw notFound('ISO', c.req.param('file'));
    media.authorize(c.req.method, c.req.path, c.req.query());
    const res = await sendFile(c, await isos.mediaPath(m[1]!), ISO_MEDIA);
    if (!res) throw notFound('ISO', m[1]!);
    return res;
  });
