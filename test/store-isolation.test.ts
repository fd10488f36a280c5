import assert from 'node:assert/strict';
import pg from 'pg';
import { COMPARISON_COLUMNS, comparisonRow, type ComparisonRow } from '../proxy/store/row.js';
import { StoreDatabase } from '../proxy/store/database.js';
import type { StoredComparison } from '../proxy/store/stored.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';

const NO_BODY = { body: null, bodyEncoding: 'none', truncated: false } as const;
const side = { status: 200, headers: {}, ...NO_BODY, ms: 1, failure: null };

function stored(requestId: string): StoredComparison {
  return {
    at: new Date(), requestId, group: 'catalog', route: 'GET /products/{id}', stage: 'shadow', primarySide: 'legacy', verdict: 'mismatch', reason: null,
    method: 'GET', path: `/products/${requestId}`, query: '', caller: 'c', rule: null, variation: null, requestHeaders: {}, requestBody: NO_BODY,
    legacy: side, new: side, differences: [], hidden: [], fields: [],
  };
}

/**
 * A row the database refuses although it was made storable (escaping covers what is known to be
 * refused; this is the net under it): only that row is left out of its batch, the rest, the
 * tallies and the noise counts are written. Its `legacy` column is JSON text jsonb refuses.
 */
for (const kind of databaseKinds()) {
  describe(`a batch with a row the database refuses (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(30_000);
    let database: TestDatabase;
    let store: StoreDatabase;

    before(async () => {
      database = await openTestDatabase(kind);
      store = await StoreDatabase.open(database.url, () => undefined);
    });

    after(async () => {
      await store?.close();
      await database?.close();
    });

    it('writes the others, the tallies and the noise, and hands the refused row back', async () => {
      const good = ['a', 'b', 'c', 'd', 'e'].map((id) => comparisonRow(stored(id)));
      const fine = comparisonRow(stored('refused'));
      const legacyColumn = COMPARISON_COLUMNS.indexOf('legacy');
      const refused: ComparisonRow = { ...fine, values: fine.values.map((value, column) => (column === legacyColumn ? '{"status": 200' : value)) };
      const minute = new Date(Date.now() - (Date.now() % 60_000));
      const result = await store.write({
        comparisons: [...good.slice(0, 2), refused, ...good.slice(2)],
        tallies: { comparisons: [{ minute, key: ['catalog', 'GET /products/{id}', 'mismatch'], count: 6, errors: 0 }], sides: [], requests: [], skips: [], lost: [] },
        noise: [{ group: 'catalog', decayEvery: 1_000, routes: [{ route: 'GET /products/{id}', comparisonsAB: 6, comparisonsAA: 0, fields: [] }] }],
      });
      assert.deepEqual(result.refused.map((row) => row.requestId), ['refused']);

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const rows = await client.query<{ request_id: string }>('SELECT request_id FROM cutover_comparisons ORDER BY id');
        assert.deepEqual(rows.rows.map((row) => row.request_id), ['a', 'b', 'c', 'd', 'e']);
        const tallies = await client.query<{ count: string }>('SELECT count FROM cutover_comparison_minutes');
        assert.deepEqual(tallies.rows.map((row) => Number(row.count)), [6]);
        const noise = await client.query<{ comparisons_ab: number }>('SELECT comparisons_ab FROM cutover_noise_routes');
        assert.deepEqual(noise.rows.map((row) => row.comparisons_ab), [6]);
      } finally {
        await client.end();
      }
    });
  });
}
