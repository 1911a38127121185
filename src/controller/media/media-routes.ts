import { Hono } from 'hono';
import { DomainError } from '../../core/errors.js';
import type { AppEnv } from '../../http/env.js';
import { sendFile } from '../../http/send-file.js';
import type { MediaService } from './media-service.js';
import type { MaintenanceImage } from '../boot/maintenance-image.js';

export const ISO_MEDIA = { contentType: 'application/x-iso9660-image', cacheControl: 'private, no-transform' };

export const createMediaRoutes = (media: MediaService, image: MaintenanceImage) =>
  new Hono<AppEnv>()
    // The maintenance OS (REEF_BOOT_DIR): kernel, initrd and live root filesystem, with Range.
    .get('/maintenance/:file', async (c) => {
      const path = image.path(c.req.param('file'));
      const res = await sendFile(c, path, { contentType: 'application/octet-stream', cacheControl: 'no-cache' });
      if (!res) throw new DomainError('NOT_FOUND', `${path} is missing`);
      return res;
    })
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
