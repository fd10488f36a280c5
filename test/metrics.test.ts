import assert from 'node:assert/strict';
import { Metrics } from '../proxy/telemetry/metrics.js';

/** The value of one series in the Prometheus text, or a failure naming what is missing. */
function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line, `no series ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('counters counted on the request path', () => {
  it('show each series once per label set, with its whole count, however often they are scraped', async () => {
    const metrics = new Metrics();
    const legacy = { group: 'catalog', route: 'GET /products/{id}', stage: 'legacy', served_by: 'legacy', status_class: '2xx' } as const;
    for (let i = 0; i < 3; i += 1) metrics.requests.inc(legacy);
    metrics.requests.inc({ ...legacy, status_class: '5xx' }, 2);
    metrics.shadowSkipped.inc({ group: 'catalog', reason: 'capacity' });

    const cutoverLines = (text: string) => text.split('\n').filter((line) => line.startsWith('cutover_'));
    const first = await metrics.registry.metrics();
    assert.deepEqual(cutoverLines(await metrics.registry.metrics()), cutoverLines(first));
    const base = 'cutover_requests_total{group="catalog",route="GET /products/{id}",stage="legacy",served_by="legacy"';
    assert.equal(seriesValue(first, `${base},status_class="2xx"}`), 3);
    assert.equal(seriesValue(first, `${base},status_class="5xx"}`), 2);
    assert.equal(seriesValue(first, 'cutover_shadow_skipped_total{group="catalog",reason="capacity"}'), 1);

    metrics.requests.inc(legacy);
    assert.equal(seriesValue(await metrics.registry.metrics(), `${base},status_class="2xx"}`), 4);
  });
});
