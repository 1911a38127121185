import { fieldError } from '../core/errors.js';
import { parseWith } from '../core/validate.js';
import { type Recipe, normalizeRecipe } from './recipe-normalize.js';
import { recipeSchema } from './recipe.schema.js';

/** Validates and normalises a bare recipe document; `root` prefixes field paths (e.g. `recipe`). */
export const validateRecipe = (input: unknown, root = ''): { source: Record<string, unknown>; recipe: Recipe } => {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw fieldError(root || 'body', 'a recipe must be an object (JSON or YAML mapping)', 'recipe');
  }
  const doc = parseWith(recipeSchema, input, 'recipe', root);
  return { source: input as Record<string, unknown>, recipe: normalizeRecipe(doc) };
};
