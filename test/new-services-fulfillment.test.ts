import assert from 'node:assert/strict';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
import { allocate } from '../new-services/fulfillment/allocation.js';
import { createFulfillmentHandler } from '../new-services/fulfillment/handler.js';
import { sqsEvent } from '../new-services/fulfillment/messages.js';
import { scanOutcome } from '../new-services/fulfillment/shipment-status.js';
import { petStoreFunctions } from '../new-services/functions.js';
import { invokeQueue } from '../new-services/fulfillment/invoke-queue.js';
import { type LambdaHost, startLambdaHost } from '../new-services/lambda-host/server.js';
import { databaseKinds } from './support/database.js';
import { assertJsonApi, type ResourceObject } from './support/jsonapi-schema.js';
import { lambdaContext } from './support/lambda-context.js';
import { httpEvent, openPetStore, type PetStoreDatabase, rowCounts, setStock } from './support/pet-store.js';

describe('fulfillment allocation', () => {
  const centers = [
    { id: 1, zones: ['west'], stock: new Map([[1, 5], [2, 1]]) },
    { id: 2, zones: ['east'], stock: new Map([[1, 2], [2, 4]]) },
    { id: 3, zones: ['east'], stock: new Map([[1, 9], [2, 9]]) },
  ];

  it('ships from one center when one holds everything, preferring the zone', () => {
    assert.deepEqual(allocate([{ product: 1, quantity: 2 }, { product: 2, quantity: 1 }], centers, 'west'), [{ center: 1, lines: [{ product: 1, quantity: 2 }, { product: 2, quantity: 1 }] }]);
    assert.deepEqual(allocate([{ product: 1, quantity: 2 }, { product: 2, quantity: 4 }], centers, 'east'), [{ center: 2, lines: [{ product: 1, quantity: 2 }, { product: 2, quantity: 4 }] }]);
    assert.deepEqual(allocate([{ product: 1, quantity: 6 }], centers, 'west'), [{ center: 3, lines: [{ product: 1, quantity: 6 }] }], 'a whole shipment from afar beats a split');
  });

  it('splits into shipments when no single center can ship everything', () => {
    assert.deepEqual(allocate([{ product: 1, quantity: 15 }, { product: 2, quantity: 1 }], centers, 'west'), [
      { center: 1, lines: [{ product: 1, quantity: 5 }, { product: 2, quantity: 1 }] },
      { center: 2, lines: [{ product: 1, quantity: 2 }] },
      { center: 3, lines: [{ product: 1, quantity: 8 }] },
    ]);
    assert.throws(() => allocate([{ product: 1, quantity: 17 }], centers, 'west'), /last 1 of product 1/);
  });

  it('moves a shipment one scan at a time, treats a repeated scan as done and refuses skips', () => {
    assert.equal(scanOutcome('allocated', 'picked'), 'advance');
    assert.equal(scanOutcome('shipped', 'picked'), 'already');
    assert.equal(scanOutcome('allocated', 'shipped'), 'refused');
    assert.equal(scanOutcome('cancelled', 'picked'), 'refused');
  });
});

for (const kind of databaseKinds()) {
  describe(`fulfillment through the local Lambda host (${kind} Postgres)`, function () {
    this.timeout(60_000);
    let store: PetStoreDatabase;
    let host: LambdaHost;
    let lambda: LambdaClient;
    const logged: string[] = [];

    const invoke = async (name: string, event: object) => {
      const response = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }));
      assert.equal(response.FunctionError, undefined);
      return JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8')) as { statusCode: number; body: string; batchItemFailures?: unknown[] };
    };
    const shipments = async (orderId: string) => {
      const result = await invoke('orders', httpEvent('GET /orders/{id}/shipments', { path: `/orders/${orderId}/shipments`, pathParameters: { id: orderId } }));
      assert.equal(result.statusCode, 200);
      return assertJsonApi(result.body).data as ResourceObject[];
    };
    const place = async (lines: Array<{ product: string; quantity: number }>, zone: string) => {
      const result = await invoke('orders', httpEvent('POST /orders', { body: { data: { type: 'orders', attributes: { customer: 'ful', shippingZone: zone, lines } } } }));
      assert.equal(result.statusCode, 201, result.body);
      return (assertJsonApi(result.body).data as ResourceObject).id;
    };

    before(async () => {
      store = await openPetStore(kind);
      host = await startLambdaHost({ functions: (url) => petStoreFunctions(store.pool, { fulfillmentQueue: invokeQueue(url), log: (line) => logged.push(line) }) });
      lambda = new LambdaClient({ endpoint: host.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    });
    after(async () => {
      lambda?.destroy();
      await host?.close();
      await store?.close();
    });

    it('allocates a new order asynchronously after POST /orders, splitting it when it must', async () => {
      await setStock(store.pool, 1025, 3, 1);
      await store.pool.query('UPDATE stock SET quantity = 4 WHERE product_id = 1025 AND center_id = 2');
      const orderId = await place([{ product: '1025', quantity: 6 }, { product: '1026', quantity: 1 }], 'west');
      await host.idle();

      const shipped = await shipments(orderId);
      assert.deepEqual(shipped.map((shipment) => [shipment.attributes.fulfillmentCenter, shipment.attributes.status, shipment.attributes.lines]), [
        ['RNO1', 'allocated', [{ product: '1025', quantity: 3 }, { product: '1026', quantity: 1 }]],
        ['CMH1', 'allocated', [{ product: '1025', quantity: 3 }]],
      ]);
      const { rows } = await store.pool.query('SELECT * FROM reservations WHERE order_id = $1', [orderId]);
      assert.deepEqual(rows, [], 'allocation consumes the reservations');
    });

    it('does not allocate twice when SQS redelivers the same message', async () => {
      const orderId = await place([{ product: '1027', quantity: 2 }], 'east');
      await host.idle();
      const counts = await rowCounts(store.pool);
      const redelivered = sqsEvent([{ messageId: 'same', message: { type: 'order-placed', orderId } }]);
      assert.deepEqual(await invoke('fulfillment', redelivered), { batchItemFailures: [] });
      assert.deepEqual(await invoke('fulfillment', redelivered), { batchItemFailures: [] });
      assert.deepEqual(await rowCounts(store.pool), counts);
      assert.equal((await shipments(orderId)).length, 1);
    });

    it('drives a shipment to delivered by warehouse scans, and then refuses to cancel its order', async () => {
      const orderId = await place([{ product: '1028', quantity: 1 }], 'central');
      await host.idle();
      const [shipment] = await shipments(orderId);
      assert.ok(shipment);
      for (const status of ['picked', 'shipped', 'shipped', 'delivered'] as const) {
        assert.deepEqual(await invoke('fulfillment', sqsEvent([{ message: { type: 'shipment-scanned', shipmentId: shipment.id, status } }])), { batchItemFailures: [] });
      }
      assert.equal((await shipments(orderId))[0]?.attributes.status, 'delivered');
      const cancel = await invoke('orders', httpEvent('PATCH /orders/{id}', { path: `/orders/${orderId}`, pathParameters: { id: orderId }, body: { data: { type: 'orders', id: orderId, attributes: { status: 'cancelled' } } } }));
      assert.equal(cancel.statusCode, 409);
      assert.equal(assertJsonApi(cancel.body).errors?.[0]?.code, 'already_shipped');
    });

    it('returns the stock of allocated shipments to their centers when the order is cancelled', async () => {
      const before = await rowCounts(store.pool);
      const orderId = await place([{ product: '1029', quantity: 2 }], 'east');
      await host.idle();
      assert.equal((await rowCounts(store.pool)).stockUnits, before.stockUnits - 2);
      const cancel = await invoke('orders', httpEvent('PATCH /orders/{id}', { path: `/orders/${orderId}`, pathParameters: { id: orderId }, body: { data: { type: 'orders', id: orderId, attributes: { status: 'cancelled' } } } }));
      assert.equal(cancel.statusCode, 200);
      assert.equal((await rowCounts(store.pool)).stockUnits, before.stockUnits);
      assert.equal((await shipments(orderId))[0]?.attributes.status, 'cancelled');
    });

    it('reports an unreadable message as a batch item failure, so SQS retries it and then dead-letters it', async () => {
      const handler = createFulfillmentHandler(store.pool, (line) => logged.push(line));
      const event = sqsEvent([{ messageId: 'good', message: { type: 'order-placed', orderId: '00000000-0000-4000-8000-000000000000' } }]);
      event.Records.push({ ...event.Records[0]!, messageId: 'bad', body: 'not json' });
      assert.deepEqual(await handler(event, lambdaContext('fulfillment')), { batchItemFailures: [{ itemIdentifier: 'bad' }] });
      assert.ok(logged.some((line) => line.includes('bad unreadable message')));
    });
  });
}
