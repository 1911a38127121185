import { Hono } from 'hono';
import type { AppEnv } from '../../http/env.js';
import type { PrestageGenerator } from '../prestage/ignition-routes.js';
import { jobRoutes } from './pages/jobs.js';
import { listRoutes } from './pages/lists.js';
import { loginRoutes } from './pages/login.js';
import { overviewRoutes } from './pages/overview.js';
import { prestageRoutes } from './pages/prestage.js';
import { recipeRoutes } from './pages/recipes.js';
import { registryRoutes } from './pages/registry.js';
import { releaseRoutes } from './pages/releases.js';
import type { UiDeps } from './ui-deps.js';

/** /ui: the operator pages, routes only (the access gate signs them in and checks CSRF; route-rules.ts). */
export const createUiRoutes = (d: UiDeps & { prestage: PrestageGenerator }) =>
  new Hono<AppEnv>()
    .get('/assets/:file', (c) => d.assets.serve(c))
    .route('/', loginRoutes(d))
    .route('/', overviewRoutes(d))
    .route('/', jobRoutes(d))
    .route('/', recipeRoutes(d))
    .route('/', registryRoutes(d))
    .route('/', releaseRoutes(d))
    .route('/', listRoutes(d))
    .route('/', prestageRoutes(d));
