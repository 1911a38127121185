import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { recipes } from './recipe.tables.js';
import type { Recipe } from '../../recipes/recipe-normalize.js';
import type { RecipeRecord, RecipeStore } from './recipe-service.js';

type Row = typeof recipes.$inferSelect;
const toRecord = (r: Row): RecipeRecord => ({
  name: r.name,
  source: r.source as Record<string, unknown>,
  recipe: r.recipe as Recipe,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

export const createSqliteRecipeStore = (db: Db): RecipeStore => ({
  get: (name) => {
    const row = db.select().from(recipes).where(eq(recipes.name, name)).get();
    return row ? toRecord(row) : undefined;
  },
  list: () => db.select().from(recipes).orderBy(asc(recipes.name)).all().map(toRecord),
  insert: (r) => db.insert(recipes).values(r).onConflictDoNothing().run().changes === 1,
  put: (r) =>
    db.transaction((tx) => {
      const existed = tx.select({ name: recipes.name }).from(recipes).where(eq(recipes.name, r.name)).get();
      tx.insert(recipes)
        .values(r)
        .onConflictDoUpdate({ target: recipes.name, set: { source: r.source, recipe: r.recipe, updatedAt: r.updatedAt } })
        .run();
      return !existed;
    }),
  delete: (name) => db.delete(recipes).where(eq(recipes.name, name)).run().changes === 1,
});
