import assert from 'node:assert/strict';
import path from 'node:path';
import { compare, hiddenDifferences, parseRules, response, rulesForRequest, rulesToJson } from '../compare/index.js';
import { ConfigError, loadConfig, parseConfig, rulesOfRoute } from '../proxy/config/config.js';
import { sample } from './support/metrics.js';
import { startTestProxy } from './support/proxy.js';
import { listen } from './support/servers.js';
import { until } from './support/until.js';

const page = (ids: number[]) => response(200, { 'content-type': 'application/vnd.api+json' }, {
  data: ids.map((id) => ({ type: 'products', id: String(id), attributes: { price: id } })),
});

describe('comparison rules per route and per request', () => {
  const demo = loadConfig(path.resolve('demo/cutover.yaml'), {});
  const catalog = demo.groups.find((group) => group.name === 'catalog');

  it('catches a sorted list in the wrong order with the demo rules, and still ignores the order of an unsorted one', () => {
    assert.ok(catalog);
    const rules = rulesOfRoute(catalog, 'GET /products');
    const [legacy, reversed] = [page([1, 2, 3]), page([3, 2, 1])];
    assert.equal(compare(legacy, reversed, rulesForRequest(rules, 'filter[category]=dog-toys&sort=price')).verdict, 'mismatch');
    assert.equal(compare(legacy, reversed, rulesForRequest(rules, 'filter[category]=dog-toys')).verdict, 'match');
  });

  const config = (routes: unknown[]) => parseConfig({
    legacy: { url: 'http://127.0.0.1:1' },
    flags: { datafile: 'datafile.json' },
    groups: { catalog: { flag: 'f', function: 'catalog', routes, rules: { ignore: ['/meta'], unordered: [{ path: '/data', key: 'id' }], headers: ['content-type'] } } },
  }, '/tmp', {}).groups[0];

  it('lets a route replace the keys it names, or add to the group\'s lists', () => {
    const group = config([
      'GET /categories',
      { route: 'GET /products', rules: { unordered: [] } },
      { route: 'GET /orders', rules: { ignore: ['/data/*/attributes/note'], headers: ['etag'] }, rulesMode: 'add' },
    ]);
    assert.ok(group);
    assert.equal(rulesOfRoute(group, 'GET /categories'), group.rules, 'a route without rules of its own has the group\'s');
    const products = rulesOfRoute(group, 'GET /products');
    assert.deepEqual(products.unordered, []);
    assert.deepEqual(products.ignore.map((pattern) => pattern.source), ['/meta'], 'the keys it does not name are the group\'s');
    const orders = rulesOfRoute(group, 'GET /orders');
    assert.deepEqual(orders.ignore.map((pattern) => pattern.source), ['/meta', '/data/*/attributes/note']);
    assert.deepEqual(orders.headers, ['content-type', 'etag']);
    assert.equal(orders.unordered.length, 1);
  });

  it('refuses a route\'s invalid rules with one line naming the route', () => {
    assert.throws(() => config([{ route: 'GET /products', rules: { ignore: ['no-slash'] } }]), (error: unknown) =>
      error instanceof ConfigError && /^groups\.catalog\.routes\[0\]\.rules: ignore\[0\]: "no-slash" is not a JSON Pointer/.test(error.message));
    assert.throws(() => config([{ route: 'GET /products', rules: { unordered: [{ path: '/data', orderedBy: [''] }] } }]), /groups\.catalog\.routes\[0\]\.rules: unordered\[0\]\.orderedBy\[0\]/);
  });
});

describe('the order a request asks for, through the proxy', function () {
  this.timeout(30_000);

  it('compares a sorted list in order and an unsorted one as a multiset', async () => {
    const legacy = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.api+json' });
      res.end(JSON.stringify({ data: [1, 2, 3].map((id) => ({ id: String(id) })) }));
    });
    const s = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async () => ({ statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: JSON.stringify({ data: [3, 2, 1].map((id) => ({ id: String(id) })) }) }) } },
      groups: { catalog: { flag: 'f', function: 'catalog', routes: ['GET /products'], rules: { unordered: [{ path: '/data', key: 'id', orderedBy: ['sort'] }] } } },
      flags: [{ key: 'f', everyoneElse: 'shadow' }],
    });
    try {
      const labels = { group: 'catalog', route: 'GET /products' };
      await (await fetch(`${s.proxy.trafficUrl}/products?sort=price`, { headers: { 'x-customer-id': 'c1' } })).arrayBuffer();
      await (await fetch(`${s.proxy.trafficUrl}/products`, { headers: { 'x-customer-id': 'c1' } })).arrayBuffer();
      await until(async () => {
        const metrics = await s.metrics();
        return sample(metrics, 'cutover_comparisons_total', { ...labels, verdict: 'mismatch' }) === 1 && sample(metrics, 'cutover_comparisons_total', { ...labels, verdict: 'match' }) === 1;
      }, 'one mismatch (sorted) and one match (unsorted)');
    } finally {
      await s.close();
      await legacy.close();
    }
  });
});

describe('additive evolution (allowNew)', () => {
  const legacy = response(200, { 'content-type': 'application/json' }, { data: { attributes: { name: 'Rope' }, tags: ['a'] } });
  const richer = response(200, { 'content-type': 'application/json' }, { data: { attributes: { name: 'Rope', rating: 4.5 }, tags: ['a'] } });
  const rules = parseRules({ allowNew: true });

  it('accepts a member only the new side has, and reports it as what the rule hid', () => {
    assert.equal(compare(legacy, richer).verdict, 'mismatch', 'without the rule it is a difference');
    const comparison = compare(legacy, richer, rules);
    assert.equal(comparison.verdict, 'match');
    assert.deepEqual(hiddenDifferences(legacy, richer, rules, comparison.differences).map(({ difference, rule }) => [difference.path, difference.kind, rule]),
      [['/data/attributes/rating', 'added', 'allowNew']]);
    assert.deepEqual(rulesToJson(rules), { allowNew: true });
  });

  it('still counts a member legacy has and new lacks, a changed value, and an added array element', () => {
    const poorer = response(200, { 'content-type': 'application/json' }, { data: { attributes: {}, tags: ['a', 'b'] } });
    assert.deepEqual(compare(legacy, poorer, rules).differences.map((difference) => [difference.path, difference.kind]),
      [['/data/attributes/name', 'removed'], ['/data/tags/1', 'added']]);
  });
});
