import assert from 'node:assert/strict';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parseConfig } from '../proxy/config/config.js';
import type { Decider } from '../proxy/decide.js';
import type { Decision } from '../proxy/decision/flags.js';
import { createLogger } from '../proxy/telemetry/log.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

const CALLERS = 10_000;
const GROUPS = {
  catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] },
  reviews: { flag: 'reviews_flag', function: 'catalog', routes: ['GET /reviews'] },
  orders: { flag: 'orders_flag', function: 'catalog', routes: ['GET /orders'] },
};
const NAMES = ['catalog', 'reviews', 'orders'] as const;

/** Runs `work` over the items, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++] as T);
  }));
}

interface AgentDecision { flagKey: string; variationKey: string | null; enabled: boolean; ruleKey: string | null; userContext: { userId: string }; cutover: { stage: string; source: string } }

describe('one decision for every project: the decide module, POST /v1/decide and the proxy', function () {
  this.timeout(120_000);
  let legacy: TestServer;
  let database: TestDatabase;
  let s: TestProxy;
  let decider: Decider;

  before(async () => {
    database = await openTestDatabase(process.env.CUTOVER_TEST_DATABASE_URL ? 'server' : 'embedded');
    legacy = await listen((_req, res) => res.end('legacy'));
    s = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async (_event: APIGatewayProxyEventV2) => ({ statusCode: 200, body: 'new' }) } },
      groups: GROUPS,
      flags: [
        // A caller outside a rollout rule's traffic falls to "everyone else": two stages a flag.
        { key: 'catalog_flag', rules: [{ key: 'live_10', variation: 'live', percent: 10 }], everyoneElse: 'legacy' },
        { key: 'reviews_flag', rules: [{ key: 'shadow_50', variation: 'shadow', percent: 50 }], everyoneElse: 'complete' },
        { key: 'orders_flag', everyoneElse: 'shadow' },
      ],
      extra: { store: { url: database.url } },
    });
    await untilReady(s.proxy.adminUrl);
    const forced = await fetch(`${s.proxy.adminUrl}/api/overrides/orders`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"stage":"complete","reason":"orders are fully on the new side"}' });
    assert.equal(forced.status, 200);
    // The package's own export, as another Node project imports it.
    const { openDecider } = await import('cutover/decide') as typeof import('../proxy/decide.js');
    decider = await openDecider({
      config: parseConfig({ legacy: { url: legacy.url }, flags: { datafile: s.datafile }, groups: GROUPS, store: { url: database.url } }, '/', {}),
      log: createLogger('silent'),
    });
    await until(() => decider.decide('orders', 'anyone').source === 'override', 'the decider reads the override from the store');
  });

  after(async () => {
    await decider?.close();
    await s?.close();
    await legacy?.close();
    await database?.close();
  });

  it(`agree for ${CALLERS.toLocaleString('en-US')} callers across every stage and an override`, async () => {
    const callers = Array.from({ length: CALLERS }, (_, i) => `customer-${i}`);
    const stages = new Map<string, number>();
    const disagreements: string[] = [];
    await inParallel(callers, 32, async (caller) => {
      const mine = NAMES.map((group) => decider.decide(group, caller));
      for (const decision of mine) stages.set(`${decision.stage} (${decision.source})`, (stages.get(`${decision.stage} (${decision.source})`) ?? 0) + 1);
      const agent = await (await fetch(`${s.proxy.adminUrl}/v1/decide`, { method: 'POST', body: JSON.stringify({ userId: caller }) })).json() as AgentDecision[];
      const group = NAMES[Number(caller.slice('customer-'.length)) % NAMES.length] as string;
      const proxy = await (await fetch(`${s.proxy.adminUrl}/api/decide?group=${group}&caller=${caller}`)).json() as Decision;
      const seen = [...agent.map((decision) => `${decision.cutover.stage} ${decision.cutover.source}`), `${proxy.stage} ${proxy.source}`];
      const expected = [...mine.map((decision) => `${decision.stage} ${decision.source}`), `${decider.decide(group, caller).stage} ${decider.decide(group, caller).source}`];
      if (seen.join(', ') !== expected.join(', ')) disagreements.push(`${caller}: proxy ${seen.join(', ')}; module ${expected.join(', ')}`);
    });
    assert.deepEqual(disagreements.slice(0, 5), []);
    assert.deepEqual([...stages.keys()].sort(), ['complete (optimizely)', 'complete (override)', 'legacy (optimizely)', 'live (optimizely)', 'shadow (optimizely)'], 'every stage was decided for some callers');
  });

  it("answers in Optimizely Agent's shape, and the proxy serves each caller from the side decided", async () => {
    const [catalog, orders] = await (await fetch(`${s.proxy.adminUrl}/v1/decide?keys=orders_flag&keys=catalog_flag`, { method: 'POST', body: '{"userId":"customer-7"}' })).json() as AgentDecision[];
    const mine = decider.decide('catalog', 'customer-7');
    assert.deepEqual({ ...catalog, reasons: undefined }, {
      flagKey: 'catalog_flag', variationKey: mine.variation, enabled: mine.variation === mine.stage, ruleKey: mine.rule,
      variables: {}, userContext: { userId: 'customer-7', attributes: {} }, reasons: undefined, cutover: { group: 'catalog', stage: mine.stage, source: 'optimizely' },
    });
    assert.deepEqual([orders?.variationKey, orders?.enabled, orders?.ruleKey], ['complete', true, null]);
    assert.equal((await fetch(`${s.proxy.adminUrl}/v1/decide?keys=payments_flag`, { method: 'POST', body: '{"userId":"c"}' })).status, 404);
    assert.equal((await fetch(`${s.proxy.adminUrl}/v1/decide`, { method: 'POST', body: '{}' })).status, 400);
    for (let i = 0; i < 200; i++) {
      const caller = `customer-${i}`;
      const served = await (await fetch(`${s.proxy.trafficUrl}/products`, { headers: { 'x-customer-id': caller } })).text();
      const stage = decider.decide('catalog', caller).stage;
      assert.equal(served, stage === 'live' || stage === 'complete' ? 'new' : 'legacy', `${caller} in ${stage}`);
    }
  });
});
