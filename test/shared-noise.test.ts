import assert from 'node:assert/strict';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import pg from 'pg';
import type { FieldNoise, NoiseSnapshot } from '../compare/index.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/** Each answer has an id of its own (noise, on both sides) and a price (the new side's regression). */
const body = (price: number) => JSON.stringify({ price, meta: { generatedId: Math.random().toString(36) } });

for (const kind of databaseKinds()) {
  describe(`the noise model in the diff store (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let legacy: TestServer;
    let database: TestDatabase;
    const proxies: TestProxy[] = [];

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body(8.99));
      });
    });

    after(async () => {
      for (const proxy of proxies) await proxy.close();
      await legacy?.close();
      await database?.close();
    });

    const start = async () => {
      const proxy = await startTestProxy({
        legacyUrl: legacy.url,
        functions: { catalog: { handler: async (_event: APIGatewayProxyEventV2) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: body(9.99) }) } },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'], shadow: { calibrationPercent: 100, noise: { minSamplesAA: 5 } } } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        extra: { store: { url: database.url, queue: { flushMs: 25 } } },
      });
      proxies.push(proxy);
      await untilReady(proxy.proxy.adminUrl);
      return proxy;
    };
    const fields = async (proxy: TestProxy): Promise<FieldNoise[]> => {
      const { groups } = await (await fetch(`${proxy.proxy.adminUrl}/api/noise?group=catalog`)).json() as { groups: Array<{ snapshot: NoiseSnapshot }> };
      return [...(groups[0]?.snapshot.routes[0]?.fields ?? [])].sort((a, b) => (a.field < b.field ? -1 : 1));
    };

    it('survives a restart and is shared with a proxy that starts later', async () => {
      const first = await start();
      for (let i = 0; i < 8; i++) await (await fetch(`${first.proxy.trafficUrl}/price`, { headers: { 'x-customer-id': `c${i}` } })).arrayBuffer();
      await until(async () => (await fields(first)).find((field) => field.field === '/meta/generatedId')?.differencesAA === 8, 'eight A/A comparisons learned');
      const learned = await fields(first);
      assert.deepEqual(learned.map((field) => [field.field, field.noisy]), [['/meta/generatedId', true], ['/price', false]]);
      // The counts reach the store with the next flush; a proxy started afterwards loads them.
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await until(async () => (await client.query<{ aa: number }>('SELECT comparisons_aa AS aa FROM cutover_noise_routes')).rows[0]?.aa === 8, 'the counts in the store');
      } finally {
        await client.end();
      }
      await first.close();
      proxies.splice(proxies.indexOf(first), 1);

      const second = await start();
      assert.deepEqual(await fields(second), learned, 'the same model after a restart');
      const third = await start();
      assert.deepEqual(await fields(third), learned, 'and on another replica');
    });
  });
}
