import { defineConfig } from 'drizzle-kit';

/** Each area declares its tables beside its store; one migrations folder is generated from all of them. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/**/*.tables.ts',
  out: './src/db/migrations',
});
