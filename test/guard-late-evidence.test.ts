import assert from 'node:assert/strict';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { sampleAll } from './support/metrics.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { gate, until } from './support/until.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An engineer clears the guard's rollback while comparisons of the broken new side are still
 * under way (its shadows slow, or a loaded replica's compare pool): those requests arrived before
 * the override changed, and say nothing of the new side that serves from now on. Before, they were
 * counted once they settled, and tripped the guard again at once on a fixed new side.
 */
describe('the guard after its rollback is cleared: evidence of requests received before', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let legacy: TestServer;
  let proxy: TestProxy;
  let phase: 'failing' | 'held' | 'healthy' = 'failing';
  let invocations = 0;
  const shadows = gate();

  before(async () => {
    database = await openTestDatabase();
    legacy = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"price":1}');
    });
    proxy = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {
        catalog: {
          handler: async () => {
            ++invocations;
            if (phase === 'held') await shadows.passed;
            if (phase === 'healthy') return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"price":1}' };
            return { statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"boom"}' };
          },
        },
      },
      groups: {
        catalog: {
          flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'], fallback: false,
          // The breaker stays closed: every failure reaches the guard as the new side's own answer.
          circuit: { failures: 1_000 }, shadow: { timeoutMs: 20_000 }, guard: { enabled: true, windowMs: 60_000, minSamples: 20 },
        },
      },
      // Every caller on the new side: the guard judges.
      flags: [{ key: 'catalog_flag', everyoneElse: 'live' }],
      extra: { store: { url: database.url, queue: { flushMs: 25 } } },
    });
    await untilReady(proxy.proxy.adminUrl);
  });

  after(async () => {
    shadows.open();
    await proxy?.close();
    await legacy?.close();
    await database?.close();
  });

  const get = async (i: number) => {
    const response = await fetch(`${proxy.proxy.trafficUrl}/price`, { headers: { 'x-customer-id': `c${i}` } });
    await response.arrayBuffer();
    return response.status;
  };
  const override = async () => ((await (await fetch(`${proxy.proxy.adminUrl}/api/overrides`)).json()) as { overrides: Record<string, string> }).overrides.catalog;
  const decidedBy = async () => ((await (await fetch(`${proxy.proxy.adminUrl}/api/decide?group=catalog&caller=c1`)).json()) as { source: string }).source;
  const trips = async () => sampleAll(await proxy.metrics(), 'cutover_guard_trips_total', { group: 'catalog' });
  const compared = async () => sampleAll(await proxy.metrics(), 'cutover_comparisons_total', { group: 'catalog' });

  it('leaves them out, and still judges the requests received after', async () => {
    // The new side fails every caller: the guard rolls catalog back to shadow.
    for (let i = 0; i < 30; i++) assert.equal(await get(i), 500);
    await until(async () => (await override()) === 'shadow', 'the guard\'s rollback', 10_000);
    assert.equal(await trips(), 1);

    // Under the rollback legacy answers and the new side is the shadow, its answers (failures) held back.
    phase = 'held';
    const before = invocations;
    for (let i = 0; i < 30; i++) assert.equal(await get(i), 200);
    await until(() => invocations - before === 30, 'the 30 shadows under way', 10_000);

    // The new side is fixed; the engineer clears the rollback, and the replica hears of it.
    const cleared = await fetch(`${proxy.proxy.adminUrl}/api/overrides/catalog?reason=fixed`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(cleared.status, 200);
    await until(async () => (await decidedBy()) !== 'override', 'the override cleared on the replica', 5_000);

    // The 30 old shadows settle now, as failures of the new side, and are compared.
    const comparedBefore = await compared();
    shadows.open();
    await until(async () => (await compared()) - comparedBefore >= 30, 'the late shadows compared', 10_000);

    // The fixed new side serves callers again: the guard judges, and has no reason to trip.
    phase = 'healthy';
    for (let i = 0; i < 5; i++) assert.equal(await get(i), 200);
    // Three of the guard's looks (one a second).
    await sleep(3_000);
    assert.equal(await override(), undefined, 'no second rollback from the evidence of before the clear');
    assert.equal(await trips(), 1);

    // And the guard still judges what arrives after the clear: the new side failing again trips it.
    phase = 'failing';
    for (let i = 0; i < 25; i++) assert.equal(await get(i), 500);
    await until(async () => (await override()) === 'shadow', 'the guard\'s second rollback', 10_000);
    assert.equal(await trips(), 2);
  });
});
