import assert from 'node:assert/strict';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * Planted noise and a planted regression, through the proxy. Every tenth item is a plain-text 503
 * on both sides (so the noise field is absent from error pages); every other answer carries an id
 * minted per call (noise, A/B and A/A alike); items whose id ends in 3 have another price on the
 * new side (the regression).
 */
const answer = (id: number, side: 'legacy' | 'new') => {
  if (id % 10 === 0) return { status: 503, type: 'text/plain', body: 'busy, try again' };
  const price = side === 'new' && id % 10 === 3 ? 6 : 5;
  return { status: 200, type: 'application/json', body: JSON.stringify({ id, price, generatedId: Math.random().toString(36) }) };
};

describe('verdicts with planted noise and a planted regression', function () {
  this.timeout(30_000);
  let legacy: TestServer;
  let s: TestProxy;
  const route = { group: 'catalog', route: 'GET /items/{id}' };

  before(async () => {
    legacy = await listen((req, res) => {
      const { status, type, body } = answer(Number(/\/items\/(\d+)/.exec(req.url ?? '')?.[1]), 'legacy');
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    });
    s = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {
        catalog: {
          handler: async (event: APIGatewayProxyEventV2) => {
            const { status, type, body } = answer(Number(event.pathParameters?.id), 'new');
            return { statusCode: status, headers: { 'content-type': type }, body };
          },
        },
      },
      groups: { catalog: { flag: 'f', function: 'catalog', routes: ['GET /items/{id}'], fallback: false, shadow: { calibrationPercent: 100 } } },
      flags: [{ key: 'f', everyoneElse: 'shadow' }],
    });
  });

  after(async () => {
    await s?.close();
    await legacy?.close();
  });

  const counts = async () => {
    const metrics = await s.metrics();
    const verdict = (name: string) => sample(metrics, 'cutover_comparisons_total', { ...route, verdict: name });
    return {
      compared: verdict('match') + verdict('noise') + verdict('mismatch') + verdict('error'),
      mismatch: verdict('mismatch'),
      price: sample(metrics, 'cutover_mismatched_fields_total', { ...route, field: '/price' }),
      generatedId: sample(metrics, 'cutover_mismatched_fields_total', { ...route, field: '/generatedId' }),
    };
  };
  const send = async (from: number, to: number) => {
    for (let id = from; id < to; id++) await (await fetch(`${s.proxy.trafficUrl}/items/${id}`, { headers: { 'x-customer-id': `c${id}` } })).arrayBuffer();
    await until(async () => (await counts()).compared === to, `${to} comparisons`);
  };

  it('reports the regression on its field, calls the noise field noise once calibrated, and raises no false alarm after', async () => {
    // Calibration: 30 requests, 27 of them successes, so the route passes its 20 A/A comparisons.
    await send(0, 30);
    const calibrated = await counts();
    await send(30, 130);
    const after = await counts();
    const regressions = [...Array(100).keys()].map((i) => i + 30).filter((id) => id % 10 === 3).length;
    assert.equal(after.mismatch - calibrated.mismatch, regressions, 'every regressed item, and nothing else, is a mismatch: no false alarm');
    assert.equal(after.price - calibrated.price, regressions, 'each on its field');
    assert.equal(after.generatedId, calibrated.generatedId, 'the noise field is never counted as mismatched once known');
    const noise = await (await fetch(`${s.proxy.adminUrl}/api/noise?group=catalog`)).json() as { groups: Array<{ snapshot: { routes: Array<{ fields: Array<{ field: string; noisy: boolean; why: string }> }> } }> };
    const fields = Object.fromEntries((noise.groups[0]?.snapshot.routes[0]?.fields ?? []).map((field) => [field.field, field]));
    assert.equal(fields['/generatedId']?.noisy, true, fields['/generatedId']?.why);
    assert.equal(fields['/price']?.noisy, false, fields['/price']?.why);
  });
});
