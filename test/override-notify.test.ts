import assert from 'node:assert/strict';
import type { Decision } from '../proxy/decision/flags.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/** Far beyond the 2 s promise: within it, only the notification can have carried a change. */
const REREAD_MS = 60_000;

// Registered only where NOTIFY reaches other connections: a PostgreSQL server. Embedded Postgres
// (PGlite) is one connection at a time; docs/operations.md says what holds there.
if (databaseKinds().includes('server')) {
  describe('overrides reach the other replicas through NOTIFY alone (PostgreSQL server only)', function () {
    this.timeout(30_000);
    let legacy: TestServer;
    let database: TestDatabase;
    const proxies: TestProxy[] = [];

    before(async () => {
      database = await openTestDatabase('server');
      legacy = await listen((_req, res) => res.end('{}'));
    });

    after(async () => {
      for (const proxy of proxies) await proxy.close();
      await legacy?.close();
      await database?.close();
    });

    const replica = async () => {
      const proxy = await startTestProxy({
        legacyUrl: legacy.url,
        functions: { catalog: { handler: async () => ({ statusCode: 200, body: '{}' }) } },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'] } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        extra: { store: { url: database.url, overrides: { rereadMs: REREAD_MS, staleAfterMs: 2 * REREAD_MS } } },
      });
      proxies.push(proxy);
      await untilReady(proxy.proxy.adminUrl);
      return proxy;
    };
    const decided = async (proxy: TestProxy) => (await (await fetch(`${proxy.proxy.adminUrl}/api/decide?group=catalog&caller=alice`)).json()) as Decision;

    it('obeys a change on every other replica within 2 s with the re-read a minute away', async () => {
      const [one, two, three] = [await replica(), await replica(), await replica()] as const;
      const put = await fetch(`${one.proxy.adminUrl}/api/overrides/catalog`, {
        method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ stage: 'legacy', reason: 'incident' }),
      });
      assert.equal(put.status, 200);
      for (const proxy of [two, three]) await until(async () => (await decided(proxy)).source === 'override', 'the override obeyed through NOTIFY', 2_000);

      const cleared = await fetch(`${two.proxy.adminUrl}/api/overrides/catalog?reason=over`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(cleared.status, 200);
      for (const proxy of [one, three]) await until(async () => (await decided(proxy)).source === 'optimizely', 'the clearing obeyed through NOTIFY', 2_000);
    });
  });
}
