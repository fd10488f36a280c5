import assert from 'node:assert/strict';
import { StoreDatabase } from '../proxy/store/database.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';

/**
 * The p50 and p99 the review API shows are read from the stored per-minute latency buckets, where
 * only the buckets that counted an answer have a row. A quantile inside a bucket is interpolated
 * from the bucket's lower bound, which is the bound below it on the grid, whether or not that
 * bucket has a row: not the previous row's bound, which would put the p99 below the bucket it is in.
 */
describe('latency quantiles from the stored buckets, some of them empty', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  let legacy: TestServer;
  let proxy: TestProxy;

  before(async () => {
    database = await openTestDatabase();
    legacy = await listen((_req, res) => res.end('{}'));
    proxy = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async () => ({ statusCode: 200, body: '{}' }) } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
      extra: { store: { url: database.url } },
    });
    await untilReady(proxy.proxy.adminUrl);
  });

  after(async () => {
    await proxy?.close();
    await legacy?.close();
    await database?.close();
  });

  it('interpolates within the bucket the quantile falls in, from the grid bound below it', async () => {
    // Legacy's answers: 98 between 2 and 3 ms, 2 between 70 and 100 ms; the other buckets counted none.
    const store = await StoreDatabase.open(database.url, () => undefined);
    try {
      const minute = new Date(Date.now() - (Date.now() % 60_000));
      await store.write({
        comparisons: [],
        tallies: {
          comparisons: [{ minute, key: ['catalog', 'GET /products/{id}', 'match'], count: 100, errors: 0 }],
          sides: [{ minute, key: ['catalog', 'legacy', 3], count: 98, errors: 0 }, { minute, key: ['catalog', 'legacy', 100], count: 2, errors: 0 }],
          requests: [], skips: [], lost: [],
        },
        noise: [],
      });
    } finally {
      await store.close();
    }
    const response = await fetch(`${proxy.proxy.adminUrl}/api/groups`);
    assert.equal(response.status, 200);
    const { groups } = await response.json() as { groups: Array<{ name: string; latency: { legacy: { p50Ms: number; p99Ms: number } | null } }> };
    const catalog = groups.find((group) => group.name === 'catalog');
    // p50: rank 50 of 100, in the 2-3 ms bucket: 2 + 1 × 50/98 (not 0 + 3 × 50/98 = 1.5). p99: rank
    // 99, the first of the two answers of the 70-100 ms bucket: 70 + 30 × 1/2 = 85 (not 3 + 97 × 1/2 = 51.5).
    assert.deepEqual(catalog?.latency.legacy, { p50Ms: 2.5, p99Ms: 85 });
  });
});
