import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { buildFunctions } from '../new-services/build.js';
import type { HttpHandler } from '../new-services/common/lambda.js';
import { assertJsonApi } from './support/jsonapi-schema.js';
import { lambdaContext } from './support/lambda-context.js';
import { httpEvent, openPetStore, type PetStoreDatabase } from './support/pet-store.js';
import { until } from './support/until.js';

describe('function bundles (esbuild)', function () {
  this.timeout(60_000);
  let store: PetStoreDatabase | undefined;
  const saved = { DATABASE_URL: process.env.DATABASE_URL, FULFILLMENT_QUEUE_URL: process.env.FULFILLMENT_QUEUE_URL };

  before(async () => {
    store = await openPetStore('embedded', 2);
  });
  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await store?.close();
  });

  it('builds one self-contained CommonJS file per function, whose handler serves from DATABASE_URL and outlives a dropped connection', async () => {
    const built = await buildFunctions();
    assert.deepEqual(Object.keys(built).sort(), ['catalog', 'fulfillment', 'orders']);
    if (!store) throw new Error('the database did not open');
    process.env.DATABASE_URL = store.database.url;
    process.env.FULFILLMENT_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/pet-store-fulfillment';
    const load = createRequire(import.meta.url);
    for (const file of Object.values(built)) assert.equal(typeof (load(file) as { handler: unknown }).handler, 'function', file);

    const { handler } = load(built.catalog) as { handler: HttpHandler };
    const result = await handler(httpEvent('GET /products/{id}', { path: '/products/1001', pathParameters: { id: '1001' } }), lambdaContext('catalog'));
    assert.equal(result.statusCode, 200);
    assertJsonApi(result.body);

    // The pool the bundle opened now holds an idle connection: when the database drops it, the
    // function lives on and says so in one line.
    const logged: string[] = [];
    const error = console.error;
    console.error = (...parts: unknown[]) => { logged.push(parts.join(' ')); };
    try {
      await store.close();
      store = undefined;
      await until(() => logged.some((line) => line.startsWith('database: idle connection lost')), 'the pool to report the dropped connection');
    } finally {
      console.error = error;
    }
  });
});
