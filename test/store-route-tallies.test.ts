import assert from 'node:assert/strict';
import pg from 'pg';
import { StoreDatabase } from '../proxy/store/database.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { gate, until } from './support/until.js';

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
-- Version 3's override history, as a store of version 4 has it: the stage history (migration 6) reads it.
CREATE TABLE cutover_override_history (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, group_name text NOT NULL, stage text, previous text, reason text NOT NULL, actor text NOT NULL, at timestamptz NOT NULL);
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

describe('a shadow that times out: compared as an error, and its evidence lost on its route', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let legacy: TestServer;
  let s: TestProxy;
  /** The new side answers no shadow until the test ends: its 100 ms shadow timeout always fires first. */
  const shadows = gate();

  before(async () => {
    database = await openTestDatabase();
    legacy = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":1}');
    });
    s = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async () => { await shadows.passed; return { statusCode: 200, body: '{"id":1}' }; } } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}', 'GET /categories/{id}'], shadow: { timeoutMs: 100 } } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
      extra: { store: { url: database.url, queue: { flushMs: 25 } } },
    });
    await untilReady(s.proxy.adminUrl);
  });

  after(async () => {
    shadows.open();
    await s?.close();
    await legacy?.close();
    await database?.close();
  });

  it('counts shadow_timeout against the route, and names it in the readiness reasons', async () => {
    const response = await fetch(`${s.proxy.trafficUrl}/products/1`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    type Summary = { routes: Array<{ route: string; comparisons: { error: number }; lost: Record<string, number> }>; readiness: { reasons: Array<{ check: string; ok: boolean; text: string }> } };
    const catalog = async () => ((await (await fetch(`${s.proxy.adminUrl}/api/groups`)).json()) as { groups: Summary[] }).groups[0];
    // The timeout is tallied as the shadow settles; its comparison (an error) reaches the store after the comparator, later.
    await until(async () => {
      const route = (await catalog())?.routes[0];
      return route?.lost.shadow_timeout === 1 && route.comparisons.error === 1;
    }, 'the timeout counted in the store, and its comparison stored as an error', 10_000);
    const summary = await catalog() as Summary;
    assert.deepEqual(summary.routes.map((route) => [route.route, route.comparisons.error, route.lost]), [['GET /products/{id}', 1, { shadow_timeout: 1 }], ['GET /categories/{id}', 0, {}]]);
    assert.deepEqual(summary.readiness.reasons.filter((reason) => reason.check === 'lost_evidence'), [
      { check: 'lost_evidence', ok: false, text: 'GET /products/{id}: evidence lost for 1 of 1 comparisons, 100 % (≤ 5 %): shadow_timeout 1' },
    ]);
  });
});
