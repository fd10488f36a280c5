import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compare, type Comparison, DEFAULT_RULES, parseRules, response, type Response, type Rules } from '../compare/index.js';
import { createCatalogHandler } from '../new-services/catalog/handler.js';
import { createFulfillmentHandler } from '../new-services/fulfillment/handler.js';
import { sqsEvent } from '../new-services/fulfillment/messages.js';
import { createOrdersHandler } from '../new-services/orders/handler.js';
import type { HttpHandler } from '../new-services/common/lambda.js';
import { startLegacy, type LegacyServer } from '../legacy/server.js';
import { assertJsonApi, type JsonApiDocument, type ResourceObject } from './support/jsonapi-schema.js';
import { lambdaContext } from './support/lambda-context.js';
import { httpEvent, openPetStore, type PetStoreDatabase, rowCounts } from './support/pet-store.js';
import { RecordingQueue } from './support/recording-queue.js';

interface Exchange { routeKey: string; path: string; query?: string; pathParameters?: Record<string, string>; body?: unknown; headers?: Record<string, string> }
/** One side's answer: as the proxy would observe it (`observed`), and its JSON:API document. */
interface Answer { status: number; contentType: string; document: JsonApiDocument; observed: Response }

/** A demo group's comparison rules, parsed by the engine from the file the demo configuration names. */
function demoRules(group: 'catalog' | 'orders'): Rules {
  return parseRules(JSON.parse(readFileSync(new URL(`../demo/rules/${group}.json`, import.meta.url), 'utf8')));
}

/** The engine's verdict and differences, in a form that assert.deepEqual prints readably. */
function judged(comparison: Comparison) {
  return { verdict: comparison.verdict, differences: comparison.differences.map(({ path, kind, legacy, new: candidate }) => ({ path, kind, legacy, new: candidate })) };
}

const MATCH = { verdict: 'match', differences: [] };

/** A JSON body under a JSON:API content type, as the proxy would observe it. */
const jsonApi = (body: unknown, status = 200) => response(status, { 'content-type': 'application/vnd.api+json' }, JSON.stringify(body));

describe('legacy monolith against the new services', function () {
  this.timeout(30_000);
  let store: PetStoreDatabase;
  let legacy: LegacyServer;
  let catalog: HttpHandler;
  let orders: HttpHandler;
  const queue = new RecordingQueue();

  async function fromLegacy(exchange: Exchange): Promise<Answer> {
    const body = exchange.body === undefined ? undefined : typeof exchange.body === 'string' ? exchange.body : JSON.stringify(exchange.body);
    const response = await fetch(`${legacy.url}${exchange.path}${exchange.query ? `?${exchange.query}` : ''}`, {
      method: exchange.routeKey.split(' ')[0],
      headers: { ...(body !== undefined ? { 'content-type': 'application/vnd.api+json' } : {}), ...exchange.headers },
      body,
    });
    const text = await response.text();
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', document: assertJsonApi(text), observed: { status: response.status, headers: Object.fromEntries(response.headers), body: text } };
  }

  async function fromNew(exchange: Exchange): Promise<Answer> {
    const handler = exchange.routeKey.includes('/orders') ? orders : catalog;
    const result = await handler(httpEvent(exchange.routeKey, exchange), lambdaContext('parity'));
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]));
    const observed: Response = result.body === undefined ? { status: result.statusCode ?? 0, headers } : { status: result.statusCode ?? 0, headers, body: result.body };
    return { status: result.statusCode ?? 0, contentType: String(result.headers?.['content-type']), document: assertJsonApi(result.body), observed };
  }

  /**
   * Both sides' answers to one exchange, judged by the comparison engine the proxy runs (compare/)
   * under the group's demo rules: `judged` is MATCH when only the documented quirks differ.
   */
  async function both(group: 'catalog' | 'orders', exchange: Exchange) {
    const [old, rewritten] = [await fromLegacy(exchange), await fromNew(exchange)];
    return { old, rewritten, judged: judged(compare(old.observed, rewritten.observed, demoRules(group))) };
  }

  before(async () => {
    store = await openPetStore('embedded');
    legacy = await startLegacy({ databaseUrl: store.database.url });
    catalog = createCatalogHandler(store.pool);
    orders = createOrdersHandler(store.pool, { queue, log: () => undefined });
  });
  after(async () => {
    await legacy?.close();
    await store?.close();
  });

  const catalogExchanges: Exchange[] = [
    { routeKey: 'GET /products', path: '/products' },
    { routeKey: 'GET /products', path: '/products', query: 'page[number]=2&page[size]=7&sort=-price' },
    { routeKey: 'GET /products', path: '/products', query: 'filter[category]=cat-food&include=category&fields[products]=name,price,category' },
    { routeKey: 'GET /products/{id}', path: '/products/1012', pathParameters: { id: '1012' }, query: 'include=category' },
    { routeKey: 'GET /products/{id}', path: '/products/4242', pathParameters: { id: '4242' } },
    { routeKey: 'GET /categories', path: '/categories' },
    { routeKey: 'GET /categories/{id}', path: '/categories/3', pathParameters: { id: '3' } },
    { routeKey: 'GET /categories/{id}', path: '/categories/99', pathParameters: { id: '99' } },
    { routeKey: 'GET /products', path: '/products', query: 'include=' },
    { routeKey: 'GET /products', path: '/products', query: 'include=owner' },
    { routeKey: 'GET /products', path: '/products', query: 'fields[products]=colour' },
  ];

  it('serves the same catalog as the new service, once the catalog rules make the quirks noise', async () => {
    let quirky = 0;
    for (const exchange of catalogExchanges) {
      const { old, rewritten, judged: verdict } = await both('catalog', exchange);
      assert.deepEqual(verdict, MATCH, `${exchange.path}?${exchange.query ?? ''}`);
      if (old.status !== 200) continue;
      assert.equal(compare(old.observed, rewritten.observed, DEFAULT_RULES).verdict, 'mismatch', `${exchange.path}: without the rules, the quirks differ`);
      quirky += 1;
    }
    assert.equal(quirky, 7, 'seven of the exchanges are answered 200, and those differ by the quirks');
  });

  it('shows exactly the promised quirks in the raw documents', async () => {
    const { old, rewritten } = await both('catalog', { routeKey: 'GET /categories', path: '/categories' });
    assert.match(String(old.document.meta?.generatedAt), /Z$/);
    assert.equal(rewritten.document.meta, undefined);
    assert.deepEqual((old.document.data as ResourceObject[]).map((category) => category.id), ['1', '2', '3', '4', '5', '6'], 'insertion order');
    const product = await both('catalog', { routeKey: 'GET /products/{id}', path: '/products/1001', pathParameters: { id: '1001' } });
    assert.match(String((product.old.document.data as ResourceObject).attributes.createdAt), /\.000Z$/);
    assert.match(String((product.rewritten.document.data as ResourceObject).attributes.createdAt), /:\d\dZ$/);
  });

  it('serves the same orders, shipments and order errors, with legacy totals in floating point', async () => {
    const id = 'a2d4e6f8-1234-4abc-8def-0123456789ab';
    const order = { data: { type: 'orders', id, attributes: { customer: 'parity', shippingZone: 'east', lines: [{ product: '1001', quantity: 2 }, { product: '1013', quantity: 2 }] } } };
    const placed = await fromLegacy({ routeKey: 'POST /orders', path: '/orders', body: order });
    assert.equal(placed.status, 201);
    const total = (placed.document.data as ResourceObject).attributes.total as number;
    assert.notEqual(total, Math.round(total * 100) / 100, 'the monolith adds dollars in floating point');

    const exchanges: Exchange[] = [
      { routeKey: 'GET /orders/{id}', path: `/orders/${id}`, pathParameters: { id } },
      { routeKey: 'GET /orders/{id}/shipments', path: `/orders/${id}/shipments`, pathParameters: { id } },
      { routeKey: 'GET /orders', path: '/orders', query: 'filter[customer]=parity' },
      { routeKey: 'GET /orders', path: '/orders' },
      { routeKey: 'POST /orders', path: '/orders', body: '{"data": [' },
      { routeKey: 'POST /orders', path: '/orders', body: { data: { type: 'orders', attributes: { customer: 'p', shippingZone: 'east', lines: [{ product: '1001', quantity: 0 }] } } } },
      { routeKey: 'POST /orders', path: '/orders', body: { data: { type: 'orders', attributes: { customer: 'p', shippingZone: 'east', lines: [{ product: '1001', quantity: 1 }, { product: '77', quantity: 1 }] } } } },
      { routeKey: 'POST /orders', path: '/orders', body: order },
      { routeKey: 'POST /orders', path: '/orders', body: { data: { type: 'orders' } }, headers: { 'content-type': 'application/json' } },
    ];
    for (const exchange of exchanges) {
      const { judged: verdict } = await both('orders', exchange);
      assert.deepEqual(verdict, MATCH, `${exchange.routeKey} ${JSON.stringify(exchange.body ?? exchange.query ?? '')}`);
    }
  });

  it('answers a dry-run order (x-cutover-shadow: 1) like the new service, and persists nothing', async () => {
    const counts = await rowCounts(store.pool);
    const body = { data: { type: 'orders', attributes: { customer: 'dry', shippingZone: 'west', lines: [{ product: '1007', quantity: 2 }, { product: '1030', quantity: 1 }] } } };
    const { old, judged: verdict } = await both('orders', { routeKey: 'POST /orders', path: '/orders', body, headers: { 'x-cutover-shadow': '1' } });
    assert.equal(old.status, 201);
    assert.deepEqual(verdict, MATCH);
    assert.deepEqual(await rowCounts(store.pool), counts);
    assert.deepEqual(queue.take(), []);
  });

  it('cancels an order on either side with the same answer, and refuses once it has shipped', async () => {
    const placed = await orders(httpEvent('POST /orders', { body: { data: { type: 'orders', attributes: { customer: 'cancel', shippingZone: 'central', lines: [{ product: '1021', quantity: 1 }] } } } }), lambdaContext('orders'));
    const id = (assertJsonApi(placed.body).data as ResourceObject).id;
    const fulfillment = createFulfillmentHandler(store.pool, () => undefined);
    await fulfillment(sqsEvent(queue.take().map((message) => ({ message }))), lambdaContext('fulfillment'));
    const cancel: Exchange = { routeKey: 'PATCH /orders/{id}', path: `/orders/${id}`, pathParameters: { id }, body: { data: { type: 'orders', id, attributes: { status: 'cancelled' } } }, headers: { 'x-cutover-shadow': '1' } };
    const dry = await both('orders', cancel);
    assert.equal(dry.old.status, 200);
    assert.deepEqual(dry.judged, MATCH);

    const { rows } = await store.pool.query<{ id: string }>('SELECT id FROM shipments WHERE order_id = $1', [id]);
    for (const status of ['picked', 'shipped'] as const) {
      await fulfillment(sqsEvent(rows.map((row) => ({ message: { type: 'shipment-scanned' as const, shipmentId: row.id, status } }))), lambdaContext('fulfillment'));
    }
    const late = await both('orders', { ...cancel, headers: {} });
    assert.equal(late.old.status, 409);
    assert.deepEqual(late.judged, MATCH);
  });

  it('still tells a real difference apart from the quirks', () => {
    const rules = demoRules('orders');
    const document = (total: number, status: string) => ({ data: [{ type: 'orders', id: 'x', attributes: { total, status, createdAt: '2024-01-15T09:30:00.000Z' } }], meta: { generatedAt: 'now' } });
    const judge = (legacy: Response, candidate: Response, under = rules) => judged(compare(legacy, candidate, under));
    const placed = jsonApi(document(37.47, 'placed'));
    assert.deepEqual(judge(jsonApi(document(37.470000000000006, 'placed')), jsonApi({ data: [{ type: 'orders', id: 'x', attributes: { total: 37.47, status: 'placed', createdAt: '2024-01-15T09:30:00Z' } }] })), MATCH, 'the quirks alone');
    assert.deepEqual(judge(placed, jsonApi(document(37.48, 'placed'))), { verdict: 'mismatch', differences: [{ path: '/data/0/attributes/total', kind: 'changed', legacy: 37.47, new: 37.48 }] }, 'a cent is a real difference');
    assert.deepEqual(judge(placed, jsonApi(document(37.47, 'cancelled'))).differences.map((found) => found.path), ['/data/0/attributes/status']);
    assert.equal(judge(placed, jsonApi({ ...document(37.47, 'placed'), data: [] })).verdict, 'mismatch', 'a missing element');
    assert.deepEqual(judge(placed, jsonApi(document(37.47, 'placed'), 201)).differences.map((found) => found.path), ['/status']);
    assert.deepEqual(judge(placed, response(200, { 'content-type': 'application/json' }, JSON.stringify(document(37.47, 'placed')))).differences.map((found) => found.path), ['/headers/content-type']);
    const errors = (pointer: string) => jsonApi({ errors: [{ status: '422', code: 'invalid', title: 'Invalid', detail: `prose ${pointer}`, source: { pointer } }] }, 422);
    assert.deepEqual(judge(errors('/data/attributes/lines'), errors('/data/attributes/lines')), MATCH);
    assert.deepEqual(judge(errors('/data/attributes/lines'), errors('/data/attributes/customer')).differences.map((found) => found.path), ['/errors/0/source/pointer'], 'another pointer, not just other prose');
    const at = (createdAt: string) => jsonApi({ data: { type: 'p', id: '1', attributes: { createdAt } } });
    assert.deepEqual(judge(at('2024-01-15T09:30:00.000Z'), at('2024-01-15T09:30:00Z'), demoRules('catalog')), MATCH);
    assert.equal(judge(at('2024-01-15T09:30:00.000Z'), at('2024-01-15T09:30:01Z'), demoRules('catalog')).verdict, 'mismatch', 'another instant is a real difference');
  });
});
