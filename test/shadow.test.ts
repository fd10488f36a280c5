import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy, type TestProxyOptions } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

interface LegacyHit { method: string; url: string; headers: IncomingHttpHeaders; bytes: number }

const product = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify({ data: { type: 'products', id, attributes: { name: 'Rope Tug Toy', price: 8.99, ...extra } } });

describe('shadow traffic', function () {
  this.timeout(30_000);
  const legacyHits: LegacyHit[] = [];
  const shadowEvents: APIGatewayProxyEventV2[] = [];
  let legacy: TestServer;
  let stacks: TestProxy[] = [];

  const functions: Record<string, HostedFunction> = {
    catalog: {
      handler: async (event: APIGatewayProxyEventV2) => {
        if (event.headers['x-cutover-shadow'] === '1') shadowEvents.push(event);
        const id = event.pathParameters?.id ?? '0';
        const body = id === '2' ? product(id, { price: 9.99 }) : product(id);
        return { statusCode: event.requestContext.http.method === 'POST' ? 201 : 200, headers: { 'content-type': 'application/vnd.api+json' }, body };
      },
    },
  };

  before(async () => {
    legacy = await listen((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      req.on('end', () => {
        legacyHits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes });
        const id = /\/products\/(\w+)/.exec(req.url ?? '')?.[1] ?? '0';
        res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/vnd.api+json' });
        res.end(req.method === 'POST' ? product('new', { bytes }) : product(id));
      });
    });
  });

  afterEach(async () => {
    for (const stack of stacks) await stack.close();
    stacks = [];
    legacyHits.length = 0;
    shadowEvents.length = 0;
  });

  after(async () => {
    await legacy?.close();
  });

  async function stack(groups: TestProxyOptions['groups'], flags: TestProxyOptions['flags']): Promise<TestProxy> {
    const started = await startTestProxy({ legacyUrl: legacy.url, functions, groups, flags });
    stacks.push(started);
    return started;
  }

  const catalog = (shadow: Record<string, unknown> = {}) => ({ catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}', 'POST /products'], shadow } });
  const comparisons = async (s: TestProxy, verdict: string, route = 'GET /products/{id}') => sample(await s.metrics(), 'cutover_comparisons_total', { group: 'catalog', route, verdict });
  const get = (s: TestProxy, path: string) => fetch(`${s.proxy.trafficUrl}${path}`, { headers: { 'x-customer-id': 'c1' } });

  it('in shadow, serves from legacy, mirrors to new with x-cutover-shadow, and compares', async () => {
    const s = await stack(catalog(), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);
    assert.deepEqual(await (await get(s, '/products/1')).json(), JSON.parse(product('1')));
    await (await get(s, '/products/2')).arrayBuffer();
    await until(async () => (await comparisons(s, 'match')) === 1 && (await comparisons(s, 'mismatch')) === 1, 'two comparisons');
    const metrics = await s.metrics();
    assert.equal(sample(metrics, 'cutover_mismatched_fields_total', { group: 'catalog', route: 'GET /products/{id}', field: '/data/attributes/price' }), 1);
    assert.equal(shadowEvents.length, 2);
    for (const event of shadowEvents) assert.equal(event.headers['x-cutover-shadow'], '1');
    assert.equal(legacyHits.length, 2, 'both primary requests reached legacy');
    for (const hit of legacyHits) assert.equal(hit.headers['x-cutover-shadow'], undefined, 'never on a primary request');
    assert.equal(sample(metrics, 'cutover_requests_total', { group: 'catalog', route: 'GET /products/{id}', stage: 'shadow', served_by: 'legacy', status_class: '2xx' }), 2);
  });

  it('in live, serves from new and mirrors to legacy with the shadow header', async () => {
    const s = await stack(catalog(), [{ key: 'catalog_flag', everyoneElse: 'live' }]);
    assert.deepEqual(await (await get(s, '/products/1')).json(), JSON.parse(product('1')));
    await until(async () => (await comparisons(s, 'match')) === 1, 'a comparison');
    assert.equal(legacyHits.length, 1);
    assert.equal(legacyHits[0]?.headers['x-cutover-shadow'], '1');
    assert.equal(shadowEvents.length, 0, 'the primary invocation carries no shadow header');
  });

  it('compares a HEAD request as the client sees it, without a body on either side', async () => {
    const s = await stack(catalog(), [{ key: 'catalog_flag', everyoneElse: 'live' }]);
    const response = await fetch(`${s.proxy.trafficUrl}/products/1`, { method: 'HEAD', headers: { 'x-customer-id': 'c1' } });
    assert.equal(response.status, 200);
    await until(async () => (await comparisons(s, 'match')) === 1, 'a matching comparison');
  });

  it('does not mirror writes unless the group says dry-run, and then marks them', async () => {
    const off = await stack(catalog(), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);
    assert.equal((await fetch(`${off.proxy.trafficUrl}/products`, { method: 'POST', headers: { 'x-customer-id': 'c1' }, body: '{"a":1}' })).status, 201);
    assert.equal(sample(await off.metrics(), 'cutover_shadow_skipped_total', { group: 'catalog', reason: 'unsafe_method' }), 1);
    assert.equal(shadowEvents.length, 0);

    const dryRun = await stack(catalog({ writes: 'dry-run' }), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);
    assert.equal((await fetch(`${dryRun.proxy.trafficUrl}/products`, { method: 'POST', headers: { 'x-customer-id': 'c1', 'content-type': 'application/json' }, body: '{"a":1}' })).status, 201);
    await until(() => shadowEvents.length === 1, 'the dry-run shadow');
    assert.equal(shadowEvents[0]?.headers['x-cutover-shadow'], '1');
    assert.equal(shadowEvents[0]?.body, '{"a":1}', 'the body, buffered once, reaches both sides');
    assert.equal(legacyHits.at(-1)?.bytes, 7);
  });

  it('does not mirror a body over the cap, and still streams all of it to the primary', async () => {
    const s = await stack(catalog({ writes: 'dry-run', maxBodyBytes: 1024 }), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);
    const body = Buffer.alloc(50_000, 0x61);
    const response = await fetch(`${s.proxy.trafficUrl}/products`, { method: 'POST', headers: { 'x-customer-id': 'c1' }, body });
    assert.equal(response.status, 201);
    assert.equal(((await response.json()) as { data: { attributes: { bytes: number } } }).data.attributes.bytes, 50_000);
    assert.equal(sample(await s.metrics(), 'cutover_shadow_skipped_total', { group: 'catalog', reason: 'body_too_large' }), 1);
    assert.equal(shadowEvents.length, 0);
  });

  it('mirrors the share the flag variable shadowPercent names, over the group default', async () => {
    const s = await stack(catalog({ percent: 100 }), [{ key: 'catalog_flag', everyoneElse: 'shadow', shadowPercent: 0 }]);
    await (await get(s, '/products/1')).arrayBuffer();
    assert.equal(sample(await s.metrics(), 'cutover_shadow_skipped_total', { group: 'catalog', reason: 'sampled_out' }), 1);
    assert.equal(shadowEvents.length, 0);
  });
});

describe('noise calibration through the proxy', function () {
  this.timeout(30_000);

  it('learns a field that differs A/A as noise, and keeps a field that differs only A/B a mismatch', async () => {
    let counter = 0;
    const legacy = await listen((_req, res) => {
      counter += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requestNonce: `legacy-${counter}`, price: 10 }));
    });
    const stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {
        catalog: { handler: async (event: APIGatewayProxyEventV2) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requestNonce: `new-${event.requestContext.requestId}`, price: event.rawPath.endsWith('/bad') ? 12 : 10 }) }) },
      },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /prices/{id}'], shadow: { calibrationPercent: 100, noise: { minSamplesAA: 1 } } } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
    });
    try {
      const total = async (verdict: string) => sample(await stack.metrics(), 'cutover_comparisons_total', { group: 'catalog', route: 'GET /prices/{id}', verdict });
      for (let i = 0; i < 10; i++) await (await fetch(`${stack.proxy.trafficUrl}/prices/ok`, { headers: { 'x-customer-id': `c${i}` } })).arrayBuffer();
      await until(async () => (await total('noise')) + (await total('mismatch')) === 10, 'ten comparisons');
      assert.ok((await total('noise')) >= 8, 'once learned (one A/A comparison is enough here), the nonce alone is noise');
      await (await fetch(`${stack.proxy.trafficUrl}/prices/bad`, { headers: { 'x-customer-id': 'c99' } })).arrayBuffer();
      await until(async () => (await total('noise')) + (await total('mismatch')) === 11, 'the eleventh comparison');
      const metrics = await stack.metrics();
      assert.equal(sample(metrics, 'cutover_mismatched_fields_total', { group: 'catalog', route: 'GET /prices/{id}', field: '/price' }), 1, 'the real regression stays visible');
      const noise = await (await fetch(`${stack.proxy.adminUrl}/api/noise?group=catalog`)).json() as { groups: Array<{ snapshot: { routes: Array<{ fields: Array<{ field: string; noisy: boolean }> }> }; suggestedRules: { ignore: string[] } }> };
      const fields = noise.groups[0]?.snapshot.routes[0]?.fields ?? [];
      assert.deepEqual(fields.map((field) => [field.field, field.noisy]).sort(), [['/price', false], ['/requestNonce', true]]);
      assert.deepEqual(noise.groups[0]?.suggestedRules.ignore, ['/requestNonce']);
    } finally {
      await stack.close();
      await legacy.close();
    }
  });
});
