import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Named recipes. Times are integer milliseconds since the epoch; JSON columns hold documents. */
export const recipes = sqliteTable('recipes', {
  name: text('name').primaryKey(),
  /** The recipe as posted (parsed JSON or YAML), returned to users as they wrote it. */
  source: text('source', { mode: 'json' }).notNull(),
  /** The normalised recipe jobs are built from. */
  recipe: text('recipe', { mode: 'json' }).notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
