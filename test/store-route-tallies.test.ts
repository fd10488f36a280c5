import assert from 'node:assert/strict';
import pg from 'pg';
import { StoreDatabase } from '../proxy/store/database.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';

/**
 * Requests and skipped shadows are tallied by route since migration 5. A store holding tallies of
 * before it (version 4, no route column) migrates with them: they still count in the group's
 * totals, under route '', and are never taken for a route's.
 */
const VERSION_4_TALLIES = `
CREATE TABLE cutover_store_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO cutover_store_migrations (version, name) VALUES (1, 'v1'), (2, 'v2'), (3, 'v3'), (4, 'v4');
CREATE TABLE cutover_store_secret (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), caller_key text NOT NULL);
INSERT INTO cutover_store_secret (caller_key) VALUES ('k');
CREATE TABLE cutover_comparison_minutes (minute timestamptz NOT NULL, group_name text NOT NULL, route text NOT NULL, verdict text NOT NULL, count bigint NOT NULL, PRIMARY KEY (minute, group_name, route, verdict));
CREATE TABLE cutover_side_minutes (minute timestamptz NOT NULL, group_name text NOT NULL, side text NOT NULL, le_ms integer NOT NULL, count bigint NOT NULL, errors bigint NOT NULL, PRIMARY KEY (minute, group_name, side, le_ms));
CREATE TABLE cutover_request_minutes (minute timestamptz NOT NULL, group_name text NOT NULL, stage text NOT NULL, served_by text NOT NULL, count bigint NOT NULL, PRIMARY KEY (minute, group_name, stage, served_by));
CREATE TABLE cutover_skip_minutes (minute timestamptz NOT NULL, group_name text NOT NULL, reason text NOT NULL, count bigint NOT NULL, PRIMARY KEY (minute, group_name, reason));
INSERT INTO cutover_request_minutes VALUES (date_trunc('minute', now()), 'orders', 'shadow', 'legacy', 40);
INSERT INTO cutover_skip_minutes VALUES (date_trunc('minute', now()), 'orders', 'unsafe_method', 7);`;

for (const kind of databaseKinds()) {
  describe(`tallies by route, over a store of before them (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(30_000);
    let database: TestDatabase;
    let store: StoreDatabase | undefined;

    before(async () => {
      database = await openTestDatabase(kind);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query(VERSION_4_TALLIES);
      } finally {
        await client.end();
      }
    });

    after(async () => {
      await store?.close();
      await database?.close();
    });

    it('migrates the old tallies, keeps them in the group\'s totals under route \'\', and adds routes\' own and their evidence lost', async () => {
      store = await StoreDatabase.open(database.url, () => undefined);
      const minute = new Date(Date.now() - (Date.now() % 60_000));
      await store.write({
        comparisons: [],
        tallies: {
          comparisons: [], sides: [],
          requests: [{ minute, key: ['orders', 'POST /orders', 'shadow', 'legacy'], count: 2, errors: 0 }, { minute, key: ['orders', 'GET /orders/{id}', 'shadow', 'legacy'], count: 3, errors: 0 }],
          skips: [{ minute, key: ['orders', 'POST /orders', 'unsafe_method'], count: 2, errors: 0 }],
          lost: [{ minute, key: ['orders', 'GET /orders/{id}', 'store_down'], count: 1, errors: 0 }],
        },
        noise: [],
      });
      const evidence = await store.evidence('orders', { hours: 24 });
      assert.equal(evidence.requests.reduce((all, row) => all + row.count, 0), 45);
      assert.deepEqual(evidence.skips, { unsafe_method: 9 });
      assert.deepEqual(Object.fromEntries(evidence.traffic), {
        '': { requests: 40, skips: { unsafe_method: 7 }, lost: {} },
        'POST /orders': { requests: 2, skips: { unsafe_method: 2 }, lost: {} },
        'GET /orders/{id}': { requests: 3, skips: {}, lost: { store_down: 1 } },
      });
    });
  });
}
