// For drizzle-kit's own commands (check, studio). The engine reads the same settings
// from the "dbKit" field of package.json; keep the two in step.
// Only Team D's overlay tables are listed: shared tables belong to @large-event/database.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/overlays/index.ts',
  out: './drizzle',
  migrations: { schema: 'drizzle', table: '__teamd_migrations' },
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
});
