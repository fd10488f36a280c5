import assert from 'node:assert/strict';
import { createCatalogHandler } from '../new-services/catalog/handler.js';
import type { HttpHandler } from '../new-services/common/lambda.js';
import { assertJsonApi, type ResourceObject } from './support/jsonapi-schema.js';
import { lambdaContext } from './support/lambda-context.js';
import { httpEvent, openPetStore, type PetStoreDatabase } from './support/pet-store.js';

describe('catalog service', function () {
  this.timeout(30_000);
  let store: PetStoreDatabase;
  let catalog: HttpHandler;

  const products = async (query: string) => {
    const result = await catalog(httpEvent('GET /products', { path: '/products', query }), lambdaContext('catalog'));
    return { status: result.statusCode, document: assertJsonApi(result.body) };
  };

  before(async () => {
    store = await openPetStore('embedded');
    catalog = createCatalogHandler(store.pool);
  });
  after(async () => store?.close());

  it('pages through products with page[number] and page[size], with first/last/prev/next links', async () => {
    const { status, document } = await products('page[number]=2&page[size]=10');
    assert.equal(status, 200);
    const data = document.data as ResourceObject[];
    assert.deepEqual(data.map((product) => product.id), Array.from({ length: 10 }, (_, index) => String(1011 + index)));
    assert.deepEqual(document.links, {
      self: '/products?page[number]=2&page[size]=10',
      first: '/products?page[number]=1&page[size]=10',
      last: '/products?page[number]=3&page[size]=10',
      prev: '/products?page[number]=1&page[size]=10',
      next: '/products?page[number]=3&page[size]=10',
    });
    const last = await products('page[number]=3&page[size]=10');
    assert.equal((last.document.data as ResourceObject[]).length, 10);
    assert.equal(last.document.links?.next, null);
    const beyond = await products('page[number]=9');
    assert.deepEqual(beyond.document.data, []);
    assert.equal(beyond.document.links?.last, '/products?page[number]=3&page[size]=10');
  });

  it('filters by category, sorts, keeps only the asked fields and includes the category', async () => {
    const { document } = await products('filter[category]=toys&sort=-price,name&fields[products]=name,price,category&include=category&fields[categories]=name');
    const data = document.data as ResourceObject[];
    assert.deepEqual(data.map((product) => product.attributes.price), [24.99, 12.99, 10.99, 8.99, 7.99, 6.49]);
    assert.deepEqual(Object.keys(data[0]?.attributes ?? {}), ['name', 'price']);
    assert.deepEqual(data[0]?.relationships, { category: { data: { type: 'categories', id: '3' } } });
    assert.deepEqual(document.included, [{ type: 'categories', id: '3', attributes: { name: 'Toys' }, links: { self: '/categories/3' } }]);
    assert.equal(document.links?.self, '/products?filter[category]=toys&sort=-price,name&fields[products]=name,price,category&include=category&fields[categories]=name');
  });

  it('serves one product with its category included, and 404 for an unknown one', async () => {
    const one = await catalog(httpEvent('GET /products/{id}', { path: '/products/1001', query: 'include=category', pathParameters: { id: '1001' } }), lambdaContext('catalog'));
    const document = assertJsonApi(one.body);
    assert.equal((document.data as ResourceObject).attributes.name, 'Grain-Free Salmon Kibble 12 kg');
    assert.match(String((document.data as ResourceObject).attributes.createdAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(document.included?.[0]?.id, '1');
    const missing = await catalog(httpEvent('GET /products/{id}', { path: '/products/77', pathParameters: { id: '77' } }), lambdaContext('catalog'));
    assert.equal(missing.statusCode, 404);
    assert.equal(assertJsonApi(missing.body).errors?.[0]?.code, 'not_found');
  });

  it('serves the category every links.self names, 404 for an unknown one, and reads an empty include= as none', async () => {
    const found = await catalog(httpEvent('GET /categories/{id}', { path: '/categories/3', pathParameters: { id: '3' } }), lambdaContext('catalog'));
    assert.equal(found.statusCode, 200);
    const category = assertJsonApi(found.body).data as ResourceObject;
    assert.deepEqual([category.id, category.attributes.name, category.links?.self], ['3', 'Toys', '/categories/3']);
    const missing = await catalog(httpEvent('GET /categories/{id}', { path: '/categories/99', pathParameters: { id: '99' } }), lambdaContext('catalog'));
    assert.equal(missing.statusCode, 404);
    const { document } = await products('include=');
    assert.equal(document.included, undefined);
  });

  it('lists categories sorted by name', async () => {
    const result = await catalog(httpEvent('GET /categories', { path: '/categories' }), lambdaContext('catalog'));
    const names = (assertJsonApi(result.body).data as ResourceObject[]).map((category) => category.attributes.name);
    assert.deepEqual(names, ['Aquarium', 'Bird Supplies', 'Cat Food', 'Dog Food', 'Small Pets', 'Toys']);
  });

  it('answers an unknown field, include, sort or parameter with a 400 naming the parameter', async () => {
    const cases: Array<[string, string, string]> = [
      ['fields[products]=name,colour', 'unknown_field', 'fields[products]'],
      ['fields[owners]=name', 'unknown_type', 'fields[owners]'],
      ['include=reviews', 'unknown_include', 'include'],
      ['sort=weight', 'unknown_sort', 'sort'],
      ['page[size]=0', 'invalid_parameter', 'page[size]'],
      ['page[size]=101', 'invalid_parameter', 'page[size]'],
      ['filter[colour]=red', 'unknown_parameter', 'filter[colour]'],
    ];
    for (const [query, code, parameter] of cases) {
      const { status, document } = await products(query);
      assert.equal(status, 400, query);
      assert.equal(document.errors?.[0]?.code, code, query);
      assert.deepEqual(document.errors?.[0]?.source, { parameter }, query);
    }
  });

  it('refuses an Accept whose every JSON:API entry has media type parameters (406), and serves any other', async () => {
    const refused = await catalog(httpEvent('GET /categories', { headers: { accept: 'application/vnd.api+json; profile="x"' } }), lambdaContext('catalog'));
    assert.equal(refused.statusCode, 406);
    assertJsonApi(refused.body);
    const mixed = await catalog(httpEvent('GET /categories', { headers: { accept: 'application/vnd.api+json; profile="x", application/vnd.api+json' } }), lambdaContext('catalog'));
    assert.equal(mixed.statusCode, 200);
    const plain = await catalog(httpEvent('GET /categories', { headers: { accept: '*/*' } }), lambdaContext('catalog'));
    assert.equal(plain.statusCode, 200);
  });
});
