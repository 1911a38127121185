import { Hono } from 'hono';
import { DomainError } from '../../core/errors.js';
import type { AppEnv } from '../../http/env.js';
import type { MirrorSync } from './mirror-sync.js';

/** /api/v1/mirror/runs: the hub → site sync's runs (viewers), and a run now (operators; 202, 409 while one runs). */
export const createMirrorRoutes = (sync: MirrorSync | undefined) => {
  const need = () => {
    if (!sync) throw new DomainError('NOT_FOUND', 'no mirror sync is configured on this reef (REEF_MIRROR_ISC)');
    return sync;
  };
  return new Hono<AppEnv>()
    .get('/runs', (c) => c.json(need().list()))
    .post('/runs', (c) => {
      const run = need().start('api');
      c.header('Location', `/api/v1/mirror/runs`);
      return c.json(run, 202);
    });
};
