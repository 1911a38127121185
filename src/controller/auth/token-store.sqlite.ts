import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { apiTokens } from './auth.tables.js';
import type { TokenStore } from './token-service.js';

export const createSqliteTokenStore = (db: Db): TokenStore => ({
  insert: (rec) => db.insert(apiTokens).values(rec).onConflictDoNothing().run().changes === 1,
  list: () => db.select().from(apiTokens).orderBy(asc(apiTokens.name)).all(),
  byHash: (hash) => db.select().from(apiTokens).where(eq(apiTokens.hash, hash)).get(),
  byName: (name) => db.select().from(apiTokens).where(eq(apiTokens.name, name)).get(),
  delete: (name) => db.delete(apiTokens).where(eq(apiTokens.name, name)).run().changes === 1,
  touch: (name, at) => {
    db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.name, name)).run();
  },
});
