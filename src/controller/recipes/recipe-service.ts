import { DomainError, fieldError, notFound } from '../../core/errors.js';
import { parseWith } from '../../core/validate.js';
import type { Recipe } from '../../recipes/recipe-normalize.js';
import { recipeNameSchema } from '../../recipes/recipe.schema.js';
import { validateRecipe } from '../../recipes/validate-recipe.js';

export interface RecipeRecord {
  name: string;
  source: Record<string, unknown>;
  recipe: Recipe;
  createdAt: number;
  updatedAt: number;
}

/** Persistence for named recipes; an adapter (SQLite) implements it. */
export interface RecipeStore {
  get(name: string): RecipeRecord | undefined;
  list(): RecipeRecord[];
  /** Inserts, or returns false when the name is taken. */
  insert(record: RecipeRecord): boolean;
  /** Replaces or creates; returns whether it created. */
  put(record: RecipeRecord): boolean;
  delete(name: string): boolean;
}

export interface RecipeView {
  name: string;
  recipe: Record<string, unknown>;
  normalized: Recipe;
  created_at: string;
  updated_at: string;
}

const view = (r: RecipeRecord): RecipeView => ({
  name: r.name,
  recipe: r.source,
  normalized: r.recipe,
  created_at: new Date(r.createdAt).toISOString(),
  updated_at: new Date(r.updatedAt).toISOString(),
});

/** Splits a posted body into name and recipe: `name` beside the fields, or `?name=` with the bare recipe. */
const splitNamed = (body: unknown, queryName: string | undefined): { name: string; input: unknown } => {
  let input = body;
  let name = queryName;
  if (body && typeof body === 'object' && !Array.isArray(body) && 'name' in body) {
    const { name: inBody, ...rest } = body as Record<string, unknown>;
    if (queryName !== undefined && inBody !== queryName) {
      throw fieldError('name', `name in the body (${JSON.stringify(inBody)}) differs from ?name=${queryName}`, 'recipe');
    }
    if (typeof inBody !== 'string') throw fieldError('name', 'name must be a string', 'recipe');
    name = inBody;
    input = rest;
  }
  if (name === undefined) throw fieldError('name', 'a recipe needs a name: a "name" field or ?name=', 'recipe');
  return { name: parseWith(recipeNameSchema, name, 'recipe', 'name'), input };
};

export const createRecipeService = (deps: { store: RecipeStore; now: () => number }) => {
  const { store, now } = deps;
  return {
    create(body: unknown, queryName?: string): RecipeView {
      const { name, input } = splitNamed(body, queryName);
      const { source, recipe } = validateRecipe(input);
      const t = now();
      const record = { name, source, recipe, createdAt: t, updatedAt: t };
      if (!store.insert(record)) {
        const message = `a recipe named ${JSON.stringify(name)} exists; PUT /api/v1/recipes/${name} replaces it`;
        throw new DomainError('CONFLICT', message, [{ path: 'name', message: 'already taken' }]);
      }
      return view(record);
    },
    /** Creates or replaces; the name comes from the path. */
    put(name: string, body: unknown): { view: RecipeView; created: boolean } {
      const { input } = splitNamed(body, parseWith(recipeNameSchema, name, 'recipe', 'name'));
      const { source, recipe } = validateRecipe(input);
      const existing = store.get(name);
      const t = now();
      const record = { name, source, recipe, createdAt: existing?.createdAt ?? t, updatedAt: t };
      const created = store.put(record);
      return { view: view(record), created };
    },
    get(name: string): RecipeView {
      const r = store.get(name);
      if (!r) throw notFound('recipe', name);
      return view(r);
    },
    /** The stored record, for jobs that name a recipe. */
    find(name: string): RecipeRecord | undefined {
      return store.get(name);
    },
    list(): RecipeView[] {
      return store.list().map(view);
    },
    remove(name: string): void {
      if (!store.delete(name)) throw notFound('recipe', name);
    },
  };
};

export type RecipeService = ReturnType<typeof createRecipeService>;
