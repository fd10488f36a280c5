import assert from 'node:assert/strict';
import type { Decision } from '../proxy/decision/flags.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

const LEGACY_BODY = '{"price":1}';
const NEW_BODY = '{"price":2}';

for (const kind of databaseKinds()) {
  describe(`the kill switch from a replica's first request (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let legacy: TestServer;
    let database: TestDatabase;
    const proxies = new Set<TestProxy>();

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(LEGACY_BODY);
      });
    });

    after(async () => {
      for (const proxy of proxies) await proxy.close();
      await legacy?.close();
      await database?.close();
    });

    /** A replica whose flag sends every caller to the new side: only an override keeps them on legacy. */
    const replica = async () => {
      const proxy = await startTestProxy({
        legacyUrl: legacy.url,
        functions: { catalog: { handler: async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: NEW_BODY }) } },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'] } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'complete' }],
        extra: { store: { url: database.url, queue: { flushMs: 25 } } },
      });
      proxies.add(proxy);
      return proxy;
    };
    const readyz = async (proxy: TestProxy) => (await (await fetch(`${proxy.proxy.adminUrl}/readyz`)).json()) as { status: string };
    const decided = async (proxy: TestProxy) => (await (await fetch(`${proxy.proxy.adminUrl}/api/decide?group=catalog&caller=alice`)).json()) as Decision;

    it('serves no request against an override on a restarted replica, and is not ready before it has read it', async () => {
      const fleet = [await replica(), await replica(), await replica()];
      for (const proxy of fleet) await until(async () => (await readyz(proxy)).status === 'ready', 'the store open', 15_000);
      const put = await fetch(`${fleet[0]!.proxy.adminUrl}/api/overrides/catalog`, {
        method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ stage: 'legacy', reason: 'incident: the new catalog is wrong' }),
      });
      assert.equal(put.status, 200);
      for (const proxy of fleet) await until(async () => (await decided(proxy)).source === 'override', 'the override obeyed', 2_000);

      const served = { legacy: 0, new: 0, retry: 0 };
      const refusals: string[] = [];
      /** One client per replica, sending requests one after another for as long as the replica is in the fleet. */
      const client = async (proxy: TestProxy, running: () => boolean) => {
        for (let i = 0; running(); i++) {
          const response = await fetch(`${proxy.proxy.trafficUrl}/price`, { headers: { 'x-customer-id': `c${i}` } });
          const body = await response.text();
          if (response.status === 200 && body === LEGACY_BODY) served.legacy++;
          else if (response.status === 200 && body === NEW_BODY) served.new++;
          else if (response.status === 503 && response.headers.get('retry-after') !== null) { served.retry++; refusals.push(body); }
          else assert.fail(`unexpected answer ${response.status}: ${body}`);
        }
      };
      let running = true;
      const clients = fleet.slice(0, 2).map((proxy) => client(proxy, () => running));

      const stopped = fleet[2]!;
      await stopped.close();
      proxies.delete(stopped);
      const restarted = await replica();
      // Traffic from the replica's first moment: startTestProxy returns as soon as it listens.
      const early = client(restarted, () => running);
      let readyWithoutOverride = false;
      await until(async () => {
        if ((await readyz(restarted)).status !== 'ready') return false;
        readyWithoutOverride ||= (await decided(restarted)).source !== 'override';
        return true;
      }, 'the restarted replica ready', 15_000);
      // Some more traffic on the whole fleet once it is ready.
      const before = served.legacy;
      await until(() => served.legacy >= before + 30, 'more requests served');
      running = false;
      await Promise.all([...clients, early]);

      assert.equal(served.new, 0, `requests served by the new side against the override (${served.legacy} by legacy)`);
      assert.equal(readyWithoutOverride, false, 'ready before the override was read');
      for (const body of refusals) assert.match(body, /overrides/);
      assert.ok(served.legacy > 30);
    });
  });
}
