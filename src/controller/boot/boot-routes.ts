import { Hono } from 'hono';
import type { AppEnv } from '../../http/env.js';
import type { BootService } from './boot-service.js';

export const createBootRoutes = (boot: BootService) =>
  new Hono<AppEnv>().get('/boot.ipxe', async (c) => {
    const iso = c.req.query('iso');
    const script = iso !== undefined ? await boot.isoScript(iso) : boot.script({ serial: c.req.query('serial'), mac: c.req.query('mac') });
    return c.text(script, 200, { 'Cache-Control': 'no-store' });
  });
