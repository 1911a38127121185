import { Hono } from 'hono';
import { readDocument } from '../../http/body.js';
import type { AppEnv } from '../../http/env.js';
import type { RecipeService } from './recipe-service.js';

export const createRecipeRoutes = (recipes: RecipeService, maxBody: number) =>
  new Hono<AppEnv>()
    .get('/', (c) => c.json({ items: recipes.list() }))
    .post('/', async (c) => {
      const body = await readDocument(c, maxBody);
      const created = recipes.create(body, c.req.query('name'));
      c.header('Location', `/api/v1/recipes/${created.name}`);
      return c.json(created, 201);
    })
    .get('/:name', (c) => c.json(recipes.get(c.req.param('name'))))
    .put('/:name', async (c) => {
      const body = await readDocument(c, maxBody);
      const { view, created } = recipes.put(c.req.param('name'), body);
      return c.json(view, created ? 201 : 200);
    })
    .delete('/:name', (c) => {
      recipes.remove(c.req.param('name'));
      return c.body(null, 204);
    });
