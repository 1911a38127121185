import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/controller/db/schema.ts',
  out: './src/controller/db/migrations',
});
