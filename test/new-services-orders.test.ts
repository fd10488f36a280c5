import assert from 'node:assert/strict';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createCatalogHandler } from '../new-services/catalog/handler.js';
import { createOrdersHandler } from '../new-services/orders/handler.js';
import type { HttpHandler } from '../new-services/common/lambda.js';
import { databaseKinds } from './support/database.js';
import { assertJsonApi, type ErrorObject, type ResourceObject } from './support/jsonapi-schema.js';
import { httpEvent, openPetStore, type PetStoreDatabase, rowCounts, setStock } from './support/pet-store.js';
import { RecordingQueue } from './support/recording-queue.js';
import { lambdaContext } from './support/lambda-context.js';

const ORDER_ID = '3f0c8d7e-2b1a-4c5d-9e8f-0a1b2c3d4e5f';

function orderDocument(lines: Array<{ product: string; quantity: number }>, extra: Record<string, unknown> = {}) {
  return { data: { type: 'orders', ...extra, attributes: { customer: 'alice', shippingZone: 'west', lines } } };
}

for (const kind of databaseKinds()) {
  describe(`orders service (${kind} Postgres)`, function () {
    this.timeout(60_000);
    let store: PetStoreDatabase;
    let queue: RecordingQueue;
    let orders: HttpHandler;
    let catalog: HttpHandler;

    const call = async (handler: HttpHandler, ...args: Parameters<typeof httpEvent>): Promise<APIGatewayProxyStructuredResultV2> =>
      handler(httpEvent(...args), lambdaContext('orders'));
    const post = (body: unknown, headers: Record<string, string> = {}) => call(orders, 'POST /orders', { path: '/orders', body, headers });
    const errorOf = (result: APIGatewayProxyStructuredResultV2): ErrorObject => {
      const errors = assertJsonApi(result.body).errors ?? [];
      assert.equal(errors.length, 1, result.body);
      assert.equal(errors[0]?.status, String(result.statusCode));
      return errors[0] as ErrorObject;
    };
    const inStock = async (product: string) => {
      const result = await call(catalog, 'GET /products/{id}', { path: `/products/${product}`, pathParameters: { id: product } });
      return (assertJsonApi(result.body).data as ResourceObject).attributes.inStock;
    };

    before(async () => {
      store = await openPetStore(kind, 20);
      queue = new RecordingQueue();
      orders = createOrdersHandler(store.pool, { queue, log: () => undefined });
      catalog = createCatalogHandler(store.pool);
    });
    after(async () => store?.close());
    beforeEach(() => queue.take());

    it('places an order: 201 with Location, prices from the catalog, stock reserved, fulfillment told', async () => {
      const before = await inStock('1008');
      const result = await post(orderDocument([{ product: '1008', quantity: 3 }, { product: '1013', quantity: 1 }]));
      assert.equal(result.statusCode, 201, result.body);
      assert.equal(result.headers?.['content-type'], 'application/vnd.api+json');
      const order = assertJsonApi(result.body).data as ResourceObject;
      assert.equal(result.headers?.location, `/orders/${order.id}`);
      assert.equal(order.type, 'orders');
      assert.deepEqual(order.attributes.lines, [
        { product: '1008', quantity: 3, unitPrice: 21.99, lineTotal: 65.97 },
        { product: '1013', quantity: 1, unitPrice: 8.99, lineTotal: 8.99 },
      ]);
      assert.equal(order.attributes.total, 74.96);
      assert.equal(order.attributes.status, 'placed');
      assert.match(String(order.attributes.createdAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(await inStock('1008'), Number(before) - 3);
      assert.deepEqual(queue.take(), [{ type: 'order-placed', orderId: order.id }]);

      const read = await call(orders, 'GET /orders/{id}', { path: `/orders/${order.id}`, pathParameters: { id: order.id } });
      assert.equal(read.statusCode, 200);
      assert.deepEqual(assertJsonApi(read.body).data, order);
    });

    it('lists a customer\'s orders, newest first, and asks for the customer filter', async () => {
      await post(orderDocument([{ product: '1002', quantity: 1 }]));
      const listed = await call(orders, 'GET /orders', { path: '/orders', query: 'filter[customer]=alice' });
      assert.equal(listed.statusCode, 200);
      const document = assertJsonApi(listed.body);
      const data = document.data as ResourceObject[];
      assert.ok(data.length >= 2);
      assert.ok(data.every((order) => order.attributes.customer === 'alice'));
      const created = data.map((order) => String(order.attributes.createdAt));
      assert.deepEqual(created, [...created].sort().reverse());
      assert.equal(document.links?.self, '/orders?filter[customer]=alice');

      const unfiltered = await call(orders, 'GET /orders', { path: '/orders' });
      assert.equal(unfiltered.statusCode, 400);
      assert.deepEqual(errorOf(unfiltered).source, { parameter: 'filter[customer]' });
    });

    it('answers bad input with one precise JSON:API error', async () => {
      const cases: Array<{ body: unknown; status: number; code: string; source?: object; headers?: Record<string, string> }> = [
        { body: '{"data": ', status: 400, code: 'malformed_json' },
        { body: orderDocument([{ product: '1001', quantity: 1 }, { product: '9999', quantity: 1 }]), status: 422, code: 'unknown_product', source: { pointer: '/data/attributes/lines/1/product' } },
        { body: orderDocument([{ product: '1001', quantity: 0 }]), status: 422, code: 'invalid_quantity', source: { pointer: '/data/attributes/lines/0/quantity' } },
        { body: orderDocument([{ product: '1001', quantity: 1.5 }]), status: 422, code: 'invalid_quantity', source: { pointer: '/data/attributes/lines/0/quantity' } },
        { body: orderDocument([]), status: 422, code: 'invalid_lines', source: { pointer: '/data/attributes/lines' } },
        { body: { data: { type: 'orders', attributes: { customer: 'a', shippingZone: 'mars', lines: [{ product: '1001', quantity: 1 }] } } }, status: 422, code: 'unknown_shipping_zone', source: { pointer: '/data/attributes/shippingZone' } },
        { body: { data: { type: 'products', attributes: {} } }, status: 409, code: 'type_mismatch', source: { pointer: '/data/type' } },
        { body: { meta: {} }, status: 400, code: 'invalid_document', source: { pointer: '' } },
        { body: orderDocument([{ product: '1001', quantity: 1 }]), status: 415, code: 'unsupported_media_type', headers: { 'content-type': 'application/json' } },
        { body: orderDocument([{ product: '1001', quantity: 1 }]), status: 415, code: 'unsupported_media_type', headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' } },
        { body: orderDocument([{ product: '1001', quantity: 1 }]), status: 406, code: 'not_acceptable', headers: { accept: 'application/vnd.api+json; ext=bulk' } },
      ];
      const counts = await rowCounts(store.pool);
      for (const example of cases) {
        const result = await post(example.body, example.headers);
        assert.equal(result.statusCode, example.status, `${JSON.stringify(example.body)}: ${result.body}`);
        const error = errorOf(result);
        assert.equal(error.code, example.code);
        assert.ok(error.title && error.detail);
        assert.deepEqual(error.source, example.source);
      }
      const unknownParameter = await call(orders, 'GET /orders/{id}', { path: `/orders/${ORDER_ID}`, query: 'include=lines', pathParameters: { id: ORDER_ID } });
      assert.equal(unknownParameter.statusCode, 400);
      assert.deepEqual(errorOf(unknownParameter).source, { parameter: 'include' });
      assert.deepEqual(await rowCounts(store.pool), counts);
      assert.deepEqual(queue.take(), []);
    });

    it('accepts a client-generated id once, and says 409 the second time', async () => {
      const first = await post(orderDocument([{ product: '1003', quantity: 1 }], { id: ORDER_ID }));
      assert.equal(first.statusCode, 201, first.body);
      assert.equal((assertJsonApi(first.body).data as ResourceObject).id, ORDER_ID);
      const again = await post(orderDocument([{ product: '1003', quantity: 1 }], { id: ORDER_ID }));
      assert.equal(again.statusCode, 409);
      assert.deepEqual(errorOf(again).source, { pointer: '/data/id' });
      const missing = await call(orders, 'GET /orders/{id}', { path: '/orders/nope', pathParameters: { id: 'nope' } });
      assert.equal(missing.statusCode, 404);
      errorOf(missing);
    });

    it('sells exactly the last 10 units to 50 concurrent orders', async () => {
      await setStock(store.pool, 1020, 10);
      const results = await Promise.all(Array.from({ length: 50 }, (_, index) =>
        call(orders, 'POST /orders', { path: '/orders', body: { data: { type: 'orders', attributes: { customer: `rush-${index}`, shippingZone: 'east', lines: [{ product: '1020', quantity: 1 }] } } } })));
      const statuses = results.map((result) => result.statusCode);
      assert.equal(statuses.filter((status) => status === 201).length, 10);
      assert.equal(statuses.filter((status) => status === 409).length, 40);
      for (const refused of results.filter((result) => result.statusCode === 409)) {
        const error = errorOf(refused);
        assert.equal(error.code, 'insufficient_stock');
        assert.deepEqual(error.source, { pointer: '/data/attributes/lines/0/quantity' });
      }
      const { rows } = await store.pool.query<{ reserved: string }>('SELECT sum(quantity) AS reserved FROM reservations WHERE product_id = 1020');
      assert.equal(Number(rows[0]?.reserved), 10);
      assert.equal(await inStock('1020'), 0);
      assert.equal(queue.take().length, 10);
    });

    it('with x-cutover-shadow: 1, answers a write exactly as it would and persists and enqueues nothing', async () => {
      const counts = await rowCounts(store.pool);
      const shadow = await post(orderDocument([{ product: '1004', quantity: 2 }]), { 'x-cutover-shadow': '1' });
      assert.equal(shadow.statusCode, 201, shadow.body);
      const order = assertJsonApi(shadow.body).data as ResourceObject;
      assert.equal(order.attributes.total, 49);
      assert.equal(shadow.headers?.location, `/orders/${order.id}`);
      assert.deepEqual(await rowCounts(store.pool), counts);
      assert.deepEqual(queue.take(), []);
      const notThere = await call(orders, 'GET /orders/{id}', { path: `/orders/${order.id}`, pathParameters: { id: order.id } });
      assert.equal(notThere.statusCode, 404);

      const refused = await post(orderDocument([{ product: '1020', quantity: 1 }]), { 'x-cutover-shadow': '1' });
      assert.equal(refused.statusCode, 409, 'a shadow sees the same stock as a real request');
    });

    it('cancels an order that has not shipped, releasing its stock; a shadow cancellation changes nothing', async () => {
      const placed = assertJsonApi((await post(orderDocument([{ product: '1005', quantity: 4 }]))).body).data as ResourceObject;
      const before = await inStock('1005');
      const cancel = (headers: Record<string, string> = {}, attributes: object = { status: 'cancelled' }) => call(orders, 'PATCH /orders/{id}', {
        path: `/orders/${placed.id}`, pathParameters: { id: placed.id }, headers, body: { data: { type: 'orders', id: placed.id, attributes } },
      });

      const counts = await rowCounts(store.pool);
      const shadow = await cancel({ 'x-cutover-shadow': '1' });
      assert.equal(shadow.statusCode, 200);
      assert.equal((assertJsonApi(shadow.body).data as ResourceObject).attributes.status, 'cancelled');
      assert.deepEqual(await rowCounts(store.pool), counts);
      assert.equal(await inStock('1005'), before);

      const wrong = await cancel({}, { customer: 'mallory' });
      assert.equal(wrong.statusCode, 422);
      assert.deepEqual(errorOf(wrong).source, { pointer: '/data/attributes/customer' });

      const done = await cancel();
      assert.equal(done.statusCode, 200);
      assert.equal((assertJsonApi(done.body).data as ResourceObject).attributes.status, 'cancelled');
      assert.equal(await inStock('1005'), Number(before) + 4);
      assert.equal((await cancel()).statusCode, 200, 'cancelling twice is harmless');
    });
  });
}
