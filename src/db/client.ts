import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { packageRoot } from '../core/paths.js';
/**
 * The drizzle handle every SQLite adapter takes. It carries no schema: each area declares its own
 * tables beside its store (`*.tables.ts`) and queries them by import; drizzle-kit generates the one
 * migrations folder below from all of them (drizzle.config.ts).
 */
export type Db = BetterSQLite3Database;

export interface OpenedDb {
  db: Db;
  sqlite: Database.Database;
  close(): void;
}

/**
 * Opens (creating if needed) the SQLite file under the data directory, in WAL mode, and applies
 * the committed migrations. One connection serves the whole process: better-sqlite3 is
 * synchronous, so concurrent requests never contend for the database lock.
 */
export const openDb = (dataDir: string): OpenedDb => {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new Database(join(dataDir, 'reef.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite);
  migrate(db, { migrationsFolder: join(packageRoot(), 'src/db/migrations') });
  return {
    db,
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
};
