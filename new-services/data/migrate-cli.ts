import pg from 'pg';
import { migrate } from './migrate.js';

/** `npm run db:migrate`: brings the database named by DATABASE_URL to the latest schema. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const db = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const applied = await migrate(db);
    console.log(applied.length === 0 ? 'db:migrate: already up to date' : `db:migrate: applied ${applied.join(', ')}`);
  } finally {
    await db.end();
  }
}

main().catch((error: unknown) => {
  console.error(`db:migrate: ${(error as Error).message}`);
  process.exit(1);
});
