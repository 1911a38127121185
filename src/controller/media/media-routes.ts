import { Hono } from 'hono';
import { DomainError } from '../../core/errors.js';
import type { AppEnv } from '../../http/env.js';
import { sendFile } from '../../http/send-file.js';
import type { MediaService } from './media-service.js';

export const ISO_MEDIA = { contentType: 'application/x-iso9660-image', cacheControl: 'private, no-transform' };

export const createMediaRoutes = (media: MediaService) =>
  new Hono<AppEnv>()
    .get('/tasks/:id/task.iso', async (c) => {
      const path = media.taskIso(c.req.method, c.req.path, c.req.param('id'), c.req.query());
      const res = await sendFile(c, path, ISO_MEDIA);
      if (!res) throw new DomainError('NOT_FOUND', `the task ISO of job ${c.req.param('id')} is missing on disk`);
      return res;
    })
    .get('/tasks/:id/boot.iso', async (c) => {
      const path = media.bootIso(c.req.method, c.req.path, c.req.param('id'), c.req.query());
      const res = await sendFile(c, path, ISO_MEDIA);
      if (!res) throw new DomainError('NOT_FOUND', `the configured boot ISO ${path} is missing (REEF_BOOT_ISO)`);
      return res;
    });
