import assert from 'node:assert/strict';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../proxy/store/embedded-postgres.js';

describe('embedded Postgres over the wire protocol', function () {
  this.timeout(30_000);
  let embedded: EmbeddedPostgres;
  let pools: pg.Pool[];

  before(async () => {
    embedded = await startEmbeddedPostgres();
    pools = [new pg.Pool({ connectionString: embedded.url, max: 6 }), new pg.Pool({ connectionString: embedded.url, max: 6 })];
    await pools[0]?.query('CREATE TABLE counters (id int PRIMARY KEY, value int NOT NULL)');
    await pools[0]?.query('INSERT INTO counters VALUES (1, 0)');
  });

  after(async () => {
    for (const pool of pools ?? []) await pool.end();
    await embedded?.close();
  });

  it('keeps the extended-protocol exchanges of many connections apart, failing ones included', async () => {
    const queries = Array.from({ length: 400 }, (_, i) => {
      const pool = pools[i % 2] as pg.Pool;
      if (i % 5 === 0) return assert.rejects(pool.query({ text: 'SELECT $1::int / 0 AS boom', values: [i] }), /division by zero/);
      return pool.query<{ sum: number; tag: string }>({ text: `SELECT $1::int + $2::int AS sum, $3::text AS tag /* ${i % 7} */`, values: [i, 1000, `q${i}`] })
        .then(({ rows }) => assert.deepEqual(rows[0], { sum: i + 1000, tag: `q${i}` }));
    });
    await Promise.all(queries);
  });

  it('serialises transactions of different connections', async () => {
    const increments = Array.from({ length: 40 }, async (_, i) => {
      const client = await (pools[i % 2] as pg.Pool).connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ value: number }>('SELECT value FROM counters WHERE id = $1', [1]);
        await client.query('UPDATE counters SET value = $1 WHERE id = $2', [(rows[0]?.value ?? 0) + 1, 1]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
    await Promise.all(increments);
    const { rows } = await (pools[0] as pg.Pool).query<{ value: number }>('SELECT value FROM counters WHERE id = 1');
    assert.equal(rows[0]?.value, 40);
  });

  it('carries on after a failing statement and a connection that goes away mid-transaction', async () => {
    await assert.rejects((pools[0] as pg.Pool).query('SELECT * FROM no_such_table'), /no_such_table/);
    const client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
    await client.query('BEGIN');
    await client.query('UPDATE counters SET value = 999 WHERE id = 1');
    await client.end();
    const { rows } = await (pools[1] as pg.Pool).query<{ value: number }>('SELECT value FROM counters WHERE id = $1', [1]);
    assert.equal(rows[0]?.value, 40, 'the abandoned transaction was rolled back');
  });
});
