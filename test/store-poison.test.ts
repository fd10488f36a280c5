import assert from 'node:assert/strict';
import pg from 'pg';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { sample, sampleAll } from './support/metrics.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * Issue 21, item 1: what PostgreSQL cannot hold (a NUL, a lone surrogate, in a body or in a member
 * name) must not sink the batch it is written with, mark a healthy store down, or lose the noise
 * counts of that write.
 */
const POISONED: Record<string, { legacy: string; new?: string }> = {
  // JSON's \u0000 escape: jsonb refuses it (22P05).
  nul: { legacy: '{"data":{"id":"nul","name":"a\\u0000b","price":8.99}}' },
  // A lone surrogate: jsonb refuses its escape (22P02).
  lone: { legacy: '{"data":{"id":"lone","name":"x\\ud800","price":8.99}}' },
  // A member name with a NUL, only on the new side: it becomes a difference's field, a text[] element (22021).
  key: { legacy: '{"data":{"id":"key","price":8.99}}', new: '{"data":{"id":"key","price":9.99},"\\u0000k":1}' },
};
const GOOD = Array.from({ length: 9 }, (_, index) => `g${index}`);
const BATCH = GOOD.length + Object.keys(POISONED).length;

/** Every id mismatches on the price; a poisoned one answers its own text, with the new price unless it gives a new answer. */
function answerOf(id: string, side: 'legacy' | 'new'): string {
  const poisoned = POISONED[id];
  if (!poisoned) return JSON.stringify({ data: { id, price: side === 'legacy' ? 8.99 : 9.99 } });
  if (side === 'legacy') return poisoned.legacy;
  return poisoned.new ?? poisoned.legacy.replace('8.99', '9.99');
}

for (const kind of databaseKinds()) {
  describe(`evidence PostgreSQL cannot hold as sent (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let legacy: TestServer;
    let database: TestDatabase;
    let s: TestProxy;

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((req, res) => {
        const id = /\/products\/(\w+)/.exec(req.url ?? '')?.[1] ?? '0';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(answerOf(id, 'legacy'));
      });
      s = await startTestProxy({
        legacyUrl: legacy.url,
        functions: {
          catalog: {
            handler: async (event: APIGatewayProxyEventV2) => ({
              statusCode: 200, headers: { 'content-type': 'application/json' }, body: answerOf(event.pathParameters?.id ?? '0', 'new'),
            }),
          },
        },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        // One batch of exactly BATCH records, written when the last is queued: the poisoned ones share it with the good.
        extra: { store: { url: database.url, queue: { batch: BATCH, flushMs: 60_000 } } },
      });
      await untilReady(s.proxy.adminUrl);
    });

    after(async () => {
      await s?.close();
      await legacy?.close();
      await database?.close();
    });

    const api = async <T>(path: string): Promise<T> => (await (await fetch(`${s.proxy.adminUrl}${path}`)).json()) as T;

    it('keeps every record of a batch holding a NUL, a lone surrogate and a NUL in a member name, escaped and marked, and the store up', async () => {
      const ids = [...GOOD, ...Object.keys(POISONED)];
      await Promise.all(ids.map(async (id) => {
        const response = await fetch(`${s.proxy.trafficUrl}/products/${id}`);
        await response.arrayBuffer();
        assert.equal(response.status, 200);
      }));
      await until(async () => {
        const text = await s.metrics();
        return sample(text, 'cutover_store_written_total', {}) + sampleAll(text, 'cutover_store_dropped_total', {}) >= BATCH;
      }, 'the batch written or dropped', 15_000);

      const text = await s.metrics();
      assert.equal(sampleAll(text, 'cutover_store_dropped_total', {}), 0, `no record dropped; the store's log: ${s.logs.filter((line) => line.includes('diff store')).join('\n')}`);
      assert.equal(sample(text, 'cutover_store_written_total', {}), BATCH);
      const ready = await fetch(`${s.proxy.adminUrl}/readyz`);
      assert.equal(ready.status, 200, `the store is not marked down: ${await ready.text()}`);

      const { diffs } = await api<{ diffs: Array<{ id: string; path: string; fields: string[] }> }>('/api/diffs?group=catalog&limit=50');
      assert.deepEqual(diffs.map((diff) => diff.path.slice('/products/'.length)).sort(), [...ids].sort());
      const detail = async (id: string) => api<{ escaped: boolean; fields: string[]; legacy: { body: { data: { name?: string } } }; differences: Array<{ path: string }> }>(
        `/api/diffs/${diffs.find((diff) => diff.path === `/products/${id}`)?.id ?? ''}`);
      const nul = await detail('nul');
      assert.equal(nul.escaped, true);
      assert.equal(nul.legacy.body.data.name, 'a\\u0000b', 'the NUL stored as the text of its escape');
      const lone = await detail('lone');
      assert.equal(lone.escaped, true);
      assert.equal(lone.legacy.body.data.name, 'x\\ud800');
      const key = await detail('key');
      assert.equal(key.escaped, true);
      assert.ok(key.fields.includes('/\\u0000k'), `the member name escaped in the fields: ${JSON.stringify(key.fields)}`);
      assert.ok(key.differences.some((difference) => difference.path === '/\\u0000k'));
      assert.equal((await detail('g0')).escaped, false, 'a record with nothing to escape is not marked');
    });

    it('keeps the noise counts and the tallies taken for that write', async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const noise = await client.query<{ comparisons_ab: number }>(`SELECT comparisons_ab FROM cutover_noise_routes WHERE group_name = 'catalog'`);
        assert.equal(noise.rows[0]?.comparisons_ab, BATCH);
        const tallies = await client.query<{ count: string }>(`SELECT sum(count) AS count FROM cutover_comparison_minutes WHERE group_name = 'catalog'`);
        assert.equal(Number(tallies.rows[0]?.count), BATCH);
      } finally {
        await client.end();
      }
    });
  });
}
