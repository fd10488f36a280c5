import pg from 'pg';

/** The pool a deployed function opens once per container, from the DATABASE_URL Terraform gives it. */
export function poolFromEnvironment(): pg.Pool {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: the function needs the pet-store database');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // An idle connection that the server drops (failover, restart) must not end the container:
  // the pool discards it and the next query opens a new one.
  pool.on('error', (error) => console.error(`database: idle connection lost: ${error.message}`));
  return pool;
}

/**
 * Runs work in one transaction. With `persist: false` (a shadow request) the work runs exactly
 * as it would, locks and checks included, and is rolled back: its answer is real, its writes are not.
 */
export async function transaction<T>(db: pg.Pool, persist: boolean, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query(persist ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Now, to the second: timestamps are stored as they are shown, so both sides name the same instant. */
export function wholeSecondNow(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}
