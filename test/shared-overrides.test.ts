import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { Decision } from '../proxy/decision/flags.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { sample } from './support/metrics.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { type Relay, relayTo } from './support/relay.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

for (const kind of databaseKinds()) {
  describe(`overrides shared through the store (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let legacy: TestServer;
    let database: TestDatabase;
    const relays: Relay[] = [];
    const proxies: TestProxy[] = [];

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"price":1}');
      });
    });

    after(async () => {
      for (const proxy of proxies) await proxy.close();
      for (const relay of relays) await relay.close();
      await legacy?.close();
      await database?.close();
    });

    /** A proxy of the fleet, reaching the shared store through a relay of its own that a test can cut. */
    const replica = async () => {
      const relay = await relayTo(database.url);
      relays.push(relay);
      const proxy = await startTestProxy({
        legacyUrl: legacy.url,
        functions: { catalog: { handler: async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"price":1}' }) } },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'] } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        // Stale after 1 s rather than 5: the tests wait for it.
        extra: { store: { url: relay.url, queue: { flushMs: 25 }, overrides: { staleAfterMs: 1_000 } } },
      });
      proxies.push(proxy);
      await untilReady(proxy.proxy.adminUrl);
      return { proxy, relay };
    };
    const decided = async (proxy: TestProxy) => (await (await fetch(`${proxy.proxy.adminUrl}/api/decide?group=catalog&caller=alice`)).json()) as Decision;
    const force = (proxy: TestProxy, stage: string | null, reason: string) => fetch(`${proxy.proxy.adminUrl}/api/overrides/catalog${stage === null ? `?reason=${encodeURIComponent(reason)}` : ''}`, {
      method: stage === null ? 'DELETE' : 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-cutover-actor': 'oncall' },
      ...(stage === null ? {} : { body: JSON.stringify({ stage, reason }) }),
    });
    const obeys = (proxy: TestProxy, stage: string, timeoutMs = 2_000) => until(async () => {
      const decision = await decided(proxy);
      return decision.source === 'override' && decision.stage === stage;
    }, `the override ${stage} obeyed`, timeoutMs);

    it('obeys an override put on any replica on every replica within 2 s, keeps it across a restart, and records who and why', async () => {
      const one = await replica();
      const two = await replica();
      const put = await force(one.proxy, 'legacy', 'incident 4711: new catalog returns stale prices');
      assert.equal(put.status, 200);
      assert.equal(((await put.json()) as { shared: boolean }).shared, true);
      await obeys(two.proxy, 'legacy');

      await two.proxy.close();
      proxies.splice(proxies.indexOf(two.proxy), 1);
      const three = await replica();
      await obeys(three.proxy, 'legacy');

      const { overrides, history } = await (await fetch(`${three.proxy.proxy.adminUrl}/api/overrides`)).json() as { overrides: Record<string, string>; history: Array<Record<string, unknown>> };
      assert.deepEqual(overrides, { catalog: 'legacy' });
      assert.deepEqual({ ...history[0], at: undefined }, { group: 'catalog', stage: 'legacy', previous: null, reason: 'incident 4711: new catalog returns stale prices', actor: 'admin token (oncall)', at: undefined });
      assert.equal((await force(three.proxy, null, 'fixed')).status, 200);
      await until(async () => (await decided(one.proxy)).source === 'optimizely', 'the override cleared everywhere', 2_000);
    });

    it('keeps serving with the last overrides while the store is away, says so, and catches up when it returns', async () => {
      const one = await replica();
      const two = await replica();
      assert.equal((await force(one.proxy, 'live', 'canary')).status, 200);
      await obeys(two.proxy, 'live');

      two.relay.cut();
      // Refused rather than applied to one replica: a kill switch that reaches 1/N of the traffic is a trap.
      const refused = await force(two.proxy, 'legacy', 'from a replica without its store');
      assert.equal(refused.status, 503);
      assert.match(((await refused.json()) as { error: string }).error, /nothing was changed/);
      // Meanwhile another replica changes it: the notification cannot reach two.
      assert.equal((await force(one.proxy, 'complete', 'full cutover')).status, 200);
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`${two.proxy.proxy.trafficUrl}/price`, { headers: { 'x-customer-id': `c${i}` } });
        assert.equal(response.status, 200, 'no client response lost');
        await response.arrayBuffer();
      }
      assert.equal((await decided(two.proxy)).stage, 'live', 'the last override read is still obeyed');
      await until(async () => sample(await two.proxy.metrics(), 'cutover_overrides_stale', {}) === 1, 'the stale overrides said in a metric', 10_000);
      const readyz = await (await fetch(`${two.proxy.proxy.adminUrl}/readyz`)).json() as { status: string; reasons: string[] };
      assert.equal(readyz.status, 'degraded');
      assert.match(readyz.reasons.join(' '), /overrides: not read from the store for \d+ s; obeying the last ones read/);

      two.relay.restore();
      await obeys(two.proxy, 'complete');
      await until(async () => sample(await two.proxy.metrics(), 'cutover_overrides_stale', {}) === 0, 'fresh again');
      assert.equal((await force(one.proxy, null, 'done')).status, 200);
    });

    it('starts with no overrides when the store is down, says so loudly, and takes them once it answers', async () => {
      const one = await replica();
      assert.equal((await force(one.proxy, 'legacy', 'incident')).status, 200);
      const relay = await relayTo(database.url);
      relays.push(relay);
      relay.cut();
      const late = await startTestProxy({
        legacyUrl: legacy.url,
        functions: { catalog: { handler: async () => ({ statusCode: 200, body: '{}' }) } },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'] } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        extra: { store: { url: relay.url, overrides: { staleAfterMs: 1_000 } } },
      });
      proxies.push(late);
      const response = await fetch(`${late.proxy.trafficUrl}/price`, { headers: { 'x-customer-id': 'c1' } });
      assert.equal(response.status, 200, 'it serves at once');
      await response.arrayBuffer();
      assert.equal((await decided(late)).source, 'optimizely', 'no override is known yet');
      await until(async () => ((await (await fetch(`${late.proxy.adminUrl}/readyz`)).json()) as { reasons?: string[] }).reasons?.some((reason) => /has not answered since start, so no override is known/.test(reason)), 'readyz says so', 10_000);
      // The error line comes with the next re-read, up to a second after /readyz can tell.
      await until(() => late.logs.some((line) => line.includes('"level":50') && line.includes('no override is known')), 'an error line that says so');
      relay.restore();
      // Not the 2 s promise, which is for a store that answers: this one must first be opened and
      // migrated, after the back-off of a store that never answered.
      await obeys(late, 'legacy', 10_000);
      assert.equal((await force(one.proxy, null, 'over')).status, 200);
    });

    it('gives the same group summaries on every replica after mixed traffic', async () => {
      const one = await replica();
      const two = await replica();
      for (let i = 0; i < 6; i++) {
        const proxy = i % 2 === 0 ? one.proxy : two.proxy;
        await (await fetch(`${proxy.proxy.trafficUrl}/price`, { headers: { 'x-customer-id': `m${i}` } })).arrayBuffer();
      }
      // When each replica applied its datafile is its own (current.appliedAt); everything else is the fleet's.
      const groups = async (proxy: TestProxy) => (await (await fetch(`${proxy.proxy.adminUrl}/api/groups`)).json() as { groups: Array<{ comparisons: { total: number }; current: { appliedAt: string | null } }> }).groups
        .map((group) => ({ ...group, current: { ...group.current, appliedAt: group.current.appliedAt === null ? null : 'applied' } }));
      // Comparisons of the suite's earlier cases may still be landing in the shared store: the two
      // summaries are read as one pair, again until the store holds still and both say the same.
      let pair: Array<Awaited<ReturnType<typeof groups>>> = [];
      await until(async () => {
        pair = [await groups(one.proxy), await groups(two.proxy)];
        return (pair[0]?.[0]?.comparisons.total ?? 0) >= 6 && isDeepStrictEqual(pair[0], pair[1]);
      }, 'both replicas give the same summaries, every comparison counted');
      assert.ok((pair[0]?.[0]?.comparisons.total ?? 0) >= 6, 'the summaries count this case\'s comparisons');
      assert.deepEqual(pair[0], pair[1]);
    });
  });
}
