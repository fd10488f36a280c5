import assert from 'node:assert/strict';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * Issue 21, item 4: records of large bodies are prepared for the store in a worker thread, and
 * the queue is bounded by bytes as well as by count.
 */
const MAX_BYTES = 2_000_000;

/** Products padded to about `bytes` of JSON; legacy and new differ in the price and in a name holding a NUL. */
function product(id: string, side: 'legacy' | 'new', bytes: number): string {
  const padding = Array.from({ length: Math.ceil(bytes / 100) }, (_, index) => ({ sku: `sku-${index}`, text: 'x'.repeat(80) }));
  return JSON.stringify({
    data: { id, price: side === 'legacy' ? 8.99 : 9.99, name: side === 'legacy' ? 'a\u0000' : 'b\u0000', padding },
    meta: { requestId: `${side}-${Math.random()}` },
  });
}

/** /products/{kb}: a body of that many kilobytes. */
const sizeOf = (path: string | undefined) => Number(/\/products\/(\d+)/.exec(path ?? '')?.[1] ?? '1') * 1000;

for (const kind of databaseKinds()) {
  describe(`the diff store's queue and large records (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let legacy: TestServer;
    let database: TestDatabase;
    let s: TestProxy;

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(product('1', 'legacy', sizeOf(req.url)));
      });
      s = await startTestProxy({
        legacyUrl: legacy.url,
        functions: {
          catalog: {
            handler: async (event: APIGatewayProxyEventV2) => ({
              statusCode: 200, headers: { 'content-type': 'application/json' }, body: product('1', 'new', sizeOf(event.rawPath)),
            }),
          },
        },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{kb}'], rules: { ignore: ['/meta/requestId'] } } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        extra: { store: { url: database.url, queue: { flushMs: 25, maxBytes: MAX_BYTES } } },
      });
      await untilReady(s.proxy.adminUrl);
    });

    after(async () => {
      await s?.close();
      await legacy?.close();
      await database?.close();
    });

    const api = async <T>(path: string): Promise<T> => (await (await fetch(`${s.proxy.adminUrl}${path}`)).json()) as T;
    const send = async (kb: number) => {
      const response = await fetch(`${s.proxy.trafficUrl}/products/${kb}`);
      await response.arrayBuffer();
      assert.equal(response.status, 200);
    };
    const settled = async (count: number) => until(async () => {
      const text = await s.metrics();
      return sample(text, 'cutover_store_written_total', {}) + sample(text, 'cutover_store_dropped_total', { reason: 'queue_full' }) >= count;
    }, `${count} records written or dropped`, 20_000);

    it('keeps a large mismatch whole in what matters: cut bodies, the differences, what the rules hid, escaped', async () => {
      await send(300);
      await settled(1);
      const { diffs } = await api<{ diffs: Array<{ id: string; path: string }> }>('/api/diffs?group=catalog');
      const id = diffs.find((diff) => diff.path === '/products/300')?.id;
      assert.ok(id, 'the large mismatch stored');
      const stored = await api<{
        escaped: boolean; legacy: { bodyEncoding: string; truncated: boolean; body: string };
        differences: Array<{ path: string; legacy: unknown; new: unknown }>; hidden: Array<{ path: string; rule: string }>;
      }>(`/api/diffs/${id}`);
      assert.equal(stored.legacy.bodyEncoding, 'text');
      assert.equal(stored.legacy.truncated, true);
      assert.equal(stored.legacy.body.length, 64 * 1024, 'cut at store.bodyBytes');
      assert.deepEqual(stored.differences.map((difference) => [difference.path, difference.legacy, difference.new]),
        [['/data/name', 'a\\u0000', 'b\\u0000'], ['/data/price', 8.99, 9.99]]);
      assert.deepEqual(stored.hidden.map((hidden) => [hidden.path, hidden.rule]), [['/meta/requestId', 'ignore: /meta/requestId']]);
      assert.equal(stored.escaped, true);
    });

    it('drops a record larger than store.queue.maxBytes as queue_full, and keeps the ones that fit', async () => {
      const before = await s.metrics();
      const written = sample(before, 'cutover_store_written_total', {});
      await send(3_000);
      await send(2);
      await settled(written + 2);
      const text = await s.metrics();
      assert.equal(sample(text, 'cutover_store_dropped_total', { reason: 'queue_full' }), 1);
      assert.equal(sample(text, 'cutover_store_written_total', {}), written + 1);
      const { diffs } = await api<{ diffs: Array<{ path: string }> }>('/api/diffs?group=catalog');
      assert.deepEqual(diffs.map((diff) => diff.path).sort(), ['/products/2', '/products/300']);
      // The record dropped is evidence lost, counted against its route and shown beside the verdict.
      type Summary = { lostEvidence: Record<string, number>; routes: Array<{ route: string; lost: Record<string, number> }>; readiness: { reasons: Array<{ check: string; text: string }> } };
      const catalog = async () => (await api<{ groups: Summary[] }>('/api/groups')).groups[0];
      await until(async () => (await catalog())?.lostEvidence.queue_full === 1, 'the drop counted in the store', 10_000);
      const groups = await catalog() as Summary;
      assert.deepEqual(groups.routes.map((route) => [route.route, route.lost]), [['GET /products/{kb}', { queue_full: 1 }]]);
      assert.match(groups.readiness.reasons.find((reason) => reason.check === 'lost_evidence')?.text ?? '', /^GET \/products\/\{kb\}: evidence lost for 1 of \d+ comparisons, [\d.]+ % \(≤ 5 %\): queue_full 1$/);
    });
  });
}
