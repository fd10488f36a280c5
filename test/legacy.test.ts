import assert from 'node:assert/strict';
import { createCatalogHandler } from '../new-services/catalog/handler.js';
import { createFulfillmentHandler } from '../new-services/fulfillment/handler.js';
import { sqsEvent } from '../new-services/fulfillment/messages.js';
import { createOrdersHandler } from '../new-services/orders/handler.js';
import type { HttpHandler } from '../new-services/shared/lambda.js';
import { startLegacy, type LegacyServer } from '../legacy/server.js';
import { assertJsonApi, type JsonApiDocument, type ResourceObject } from './support/jsonapi-schema.js';
import { lambdaContext } from './support/lambda-context.js';
import { httpEvent, openPetStore, type PetStoreDatabase, rowCounts } from './support/pet-store.js';
import { canonical, demoRules } from './support/quirk-rules.js';
import { RecordingQueue } from './support/recording-queue.js';

interface Exchange { routeKey: string; path: string; query?: string; pathParameters?: Record<string, string>; body?: unknown; headers?: Record<string, string> }
interface Answer { status: number; contentType: string; document: JsonApiDocument }

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
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', document: assertJsonApi(await response.text()) };
  }

  async function fromNew(exchange: Exchange): Promise<Answer> {
    const handler = exchange.routeKey.includes('/orders') ? orders : catalog;
    const result = await handler(httpEvent(exchange.routeKey, exchange), lambdaContext('parity'));
    return { status: result.statusCode ?? 0, contentType: String(result.headers?.['content-type']), document: assertJsonApi(result.body) };
  }

  /** Both sides' answers under the group's demo rules: equal when only the known quirks differ. */
  async function both(group: 'catalog' | 'orders', exchange: Exchange) {
    const [old, rewritten] = [await fromLegacy(exchange), await fromNew(exchange)];
    const rules = demoRules(group);
    return {
      old, rewritten,
      legacy: { status: old.status, contentType: old.contentType.split(';')[0], body: canonical(old.document, rules) },
      new: { status: rewritten.status, contentType: rewritten.contentType, body: canonical(rewritten.document, rules) },
    };
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
    { routeKey: 'GET /products', path: '/products', query: 'include=owner' },
    { routeKey: 'GET /products', path: '/products', query: 'fields[products]=colour' },
  ];

  it('serves the same catalog as the new service, once the catalog rules make the quirks noise', async () => {
    for (const exchange of catalogExchanges) {
      const { old, rewritten, legacy: a, new: b } = await both('catalog', exchange);
      assert.deepEqual(a, b, `${exchange.path}?${exchange.query ?? ''}`);
      if (old.status === 200) assert.notDeepEqual(old.document, rewritten.document, 'the raw documents differ by the quirks');
    }
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
      const { legacy: a, new: b } = await both('orders', exchange);
      assert.deepEqual(a, b, `${exchange.routeKey} ${JSON.stringify(exchange.body ?? exchange.query ?? '')}`);
    }
  });

  it('answers a dry-run order (x-cutover-shadow: 1) like the new service, and persists nothing', async () => {
    const counts = await rowCounts(store.pool);
    const body = { data: { type: 'orders', attributes: { customer: 'dry', shippingZone: 'west', lines: [{ product: '1007', quantity: 2 }, { product: '1030', quantity: 1 }] } } };
    const { legacy: a, new: b } = await both('orders', { routeKey: 'POST /orders', path: '/orders', body, headers: { 'x-cutover-shadow': '1' } });
    assert.equal(a.status, 201);
    assert.deepEqual(a, b);
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
    assert.equal(dry.legacy.status, 200);
    assert.deepEqual(dry.legacy, dry.new);

    const { rows } = await store.pool.query<{ id: string }>('SELECT id FROM shipments WHERE order_id = $1', [id]);
    for (const status of ['picked', 'shipped'] as const) {
      await fulfillment(sqsEvent(rows.map((row) => ({ message: { type: 'shipment-scanned' as const, shipmentId: row.id, status } }))), lambdaContext('fulfillment'));
    }
    const late = await both('orders', { ...cancel, headers: {} });
    assert.equal(late.legacy.status, 409);
    assert.deepEqual(late.legacy, late.new);
  });

  it('still tells a real difference apart from the quirks', () => {
    const rules = demoRules('orders');
    const document = (total: number, status: string) => ({ data: [{ type: 'orders', id: 'x', attributes: { total, status, createdAt: '2024-01-15T09:30:00.000Z' } }], meta: { generatedAt: 'now' } });
    assert.deepEqual(canonical(document(37.470000000000006, 'placed'), rules), canonical({ data: [{ type: 'orders', id: 'x', attributes: { total: 37.47, status: 'placed', createdAt: '2024-01-15T09:30:00Z' } }] }, rules));
    assert.notDeepEqual(canonical(document(37.47, 'placed'), rules), canonical(document(37.48, 'placed'), rules), 'a cent is a real difference');
    assert.notDeepEqual(canonical(document(37.47, 'placed'), rules), canonical(document(37.47, 'cancelled'), rules));
    assert.notDeepEqual(canonical(document(37.47, 'placed'), rules), canonical({ ...document(37.47, 'placed'), data: [] }, rules));
    const at = (createdAt: string) => canonical({ data: { type: 'p', id: '1', attributes: { createdAt } } }, demoRules('catalog'));
    assert.notDeepEqual(at('2024-01-15T09:30:00.000Z'), at('2024-01-15T09:30:01Z'), 'another instant is a real difference');
  });
});
