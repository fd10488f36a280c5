import assert from 'node:assert/strict';
import { compare, parseRules, response } from '../compare/index.js';
import { ComparePool } from '../proxy/shadow/compare-pool.js';

describe('ComparePool', function () {
  this.timeout(20_000);
  const pool = new ComparePool(2);
  after(() => pool.close());

  const list = (count: number, price: (i: number) => number) => Buffer.from(JSON.stringify({
    data: Array.from({ length: count }, (_, i) => ({ type: 'products', id: String(i), attributes: { name: `Product ${i}`, price: price(i), updatedAt: '2024-01-01T10:00:00.000Z' } })),
  }));

  it('answers what compare() answers, off the main thread', async () => {
    const rules = parseRules({ timestamps: 'instant', numericTolerance: 0.005 });
    const legacy = response(200, { 'content-type': 'application/json' }, list(800, (i) => i + 0.001));
    const candidate = response(200, { 'content-type': 'application/json' }, list(800, (i) => (i === 7 ? 99 : i)));
    const [inWorker, other] = await Promise.all([pool.compare(legacy, candidate, rules), pool.compare(legacy, legacy, rules)]);
    assert.deepEqual(inWorker, compare(legacy, candidate, rules));
    assert.equal(inWorker.verdict, 'mismatch');
    assert.deepEqual(inWorker.differences.map((difference) => difference.path), ['/data/7/attributes/price']);
    assert.equal(other.verdict, 'match');
  });
});
