import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../proxy/store/embedded-postgres.js';

export interface TestDatabase {
  /** A connection string whose search_path is a schema of this test's own. */
  readonly url: string;
  readonly kind: 'embedded' | 'server';
  close(): Promise<void>;
}

/**
 * A fresh database for one test suite: embedded Postgres (PGlite) by default, or a schema of
 * its own on the PostgreSQL server named by CUTOVER_TEST_DATABASE_URL, dropped afterwards.
 */
export async function openTestDatabase(kind: 'embedded' | 'server' = 'embedded'): Promise<TestDatabase> {
  if (kind === 'embedded') {
    const embedded = await startEmbeddedPostgres();
    return { url: embedded.url, kind, close: () => embedded.close() };
  }
  const serverUrl = process.env.CUTOVER_TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('CUTOVER_TEST_DATABASE_URL is not set');
  const schema = `cutover_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.href,
    kind,
    async close() {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.end();
    },
  };
}

/** The database kinds a suite runs against here: always embedded, and the server when one is configured. */
export function databaseKinds(): Array<'embedded' | 'server'> {
  return process.env.CUTOVER_TEST_DATABASE_URL ? ['embedded', 'server'] : ['embedded'];
}
