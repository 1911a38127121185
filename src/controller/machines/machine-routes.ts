import { Hono } from 'hono';
import { readDocument } from '../../http/body.js';
import type { AppEnv } from '../../http/env.js';
import type { MachineService } from './machine-service.js';

export const createMachineRoutes = (machines: MachineService, maxBody: number) =>
  new Hono<AppEnv>()
    .get('/', (c) => c.json({ items: machines.list() }))
    .post('/', async (c) => {
      const { view, created } = machines.register(await readDocument(c, maxBody));
      if (created) c.header('Location', `/api/v1/machines/${view.serial}`);
      return c.json(view, created ? 201 : 200);
    })
    .get('/:serial', (c) => c.json(machines.get(c.req.param('serial'))))
    .delete('/:serial', (c) => {
      machines.remove(c.req.param('serial'));
      return c.body(null, 204);
    });
