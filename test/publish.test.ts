import assert from 'node:assert/strict';
import { compare, DEFAULT_RULES, response } from '../compare/index.js';
import { ComparisonMetrics, publisher } from '../proxy/evidence/publish.js';
import { comparisonRecord, type ComparisonRecord } from '../proxy/evidence/record.js';
import { Metrics } from '../proxy/telemetry/metrics.js';
import { capturedLogger } from './support/logs.js';
import { sample } from './support/metrics.js';

function record(noiseFields: string[]): ComparisonRecord {
  const legacy = response(200, { 'content-type': 'application/json' }, '{"price":8.99,"generatedAt":"a"}');
  const candidate = response(200, { 'content-type': 'application/json' }, '{"price":9.99,"generatedAt":"b"}');
  return comparisonRecord({
    at: new Date(0), group: 'catalog', route: 'GET /products/{id}', primarySide: 'legacy',
    legacy: { observation: legacy, ms: 1 }, new: { observation: candidate, ms: 2 },
    comparison: compare(legacy, candidate), noiseFields: new Set(noiseFields), rules: DEFAULT_RULES,
    request: { method: 'GET', path: '/products/1', query: '', requestId: 'r1', caller: 'c1', stage: 'shadow', rule: null, variation: null, headers: {}, body: Buffer.alloc(0), receivedAt: 0 },
  });
}

describe('publishing a comparison', () => {
  it('counts a mismatch\'s real fields, not the ones calibration knows as noise', async () => {
    const metrics = new Metrics();
    new ComparisonMetrics(metrics).consume(record(['/generatedAt']));
    const text = await metrics.registry.metrics();
    const labels = { group: 'catalog', route: 'GET /products/{id}' };
    assert.equal(sample(text, 'cutover_comparisons_total', { ...labels, verdict: 'mismatch' }), 1);
    assert.equal(sample(text, 'cutover_mismatched_fields_total', { ...labels, field: '/price' }), 1);
    assert.equal(sample(text, 'cutover_mismatched_fields_total', { ...labels, field: '/generatedAt' }), 0);
  });

  it('gives every consumer the comparison when one of them throws, and logs which one failed', () => {
    const { logger, lines } = capturedLogger();
    const seen: string[] = [];
    const publish = publisher([
      { name: 'first', consume: () => { seen.push('first'); } },
      { name: 'broken', consume: () => { throw new Error('disk full'); } },
      { name: 'last', consume: (given) => { seen.push(given.request.requestId); } },
    ], logger);
    publish(record([]));
    assert.deepEqual(seen, ['first', 'r1']);
    const failed = lines.map((line) => JSON.parse(line) as { consumer?: string; requestId?: string; err?: { message: string } }).find((line) => line.consumer === 'broken');
    assert.equal(failed?.requestId, 'r1');
    assert.equal(failed?.err?.message, 'disk full');
  });
});
