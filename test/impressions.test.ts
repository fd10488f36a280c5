import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventDispatcher, LogEvent } from '@optimizely/optimizely-sdk';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { recheck } from '../proxy/commands/recheck.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';
import { parseConfig } from '../proxy/config/config.js';
import { openDecider } from '../proxy/decide.js';
import { writeDatafile } from './support/datafile.js';
import { capturedLogger } from './support/logs.js';

/** What Optimizely's event API would receive in one batch: visitors, each with snapshots of decisions and events. */
interface EventBatch {
  visitors?: Array<{ visitor_id: string; snapshots?: Array<{ decisions?: unknown[]; events?: Array<{ key: string }> }> }>;
}

/** Impressions (campaign_activated events) a caller was counted for, over every batch dispatched. */
function impressionsOf(batches: readonly LogEvent[], caller: string): number {
  let count = 0;
  for (const batch of batches) {
    for (const visitor of (batch.params as EventBatch).visitors ?? []) {
      if (visitor.visitor_id !== caller) continue;
      for (const snapshot of visitor.snapshots ?? []) count += (snapshot.events ?? []).filter((event) => event.key === 'campaign_activated').length;
    }
  }
  return count;
}

const product = (id: string, price: number) => JSON.stringify({ data: { type: 'products', id, attributes: { price } } });

describe('impressions: only a decision that serves a caller is one', function () {
  this.timeout(90_000);
  let database: TestDatabase;
  let legacy: TestServer;
  let s: TestProxy;
  let admin: string;
  const batches: LogEvent[] = [];
  // Optimizely's event API, stood in for: each batch as the SDK would send it.
  const dispatcher: EventDispatcher = { dispatchEvent: async (event) => { batches.push(event); return { statusCode: 204 }; } };

  /** Serves one request for `caller` through the proxy, then waits for its impression: every earlier event is dispatched by then (batches of 1, in order). */
  async function served(caller: string, path = '/products/1'): Promise<void> {
    const before = impressionsOf(batches, caller);
    const response = await fetch(`${s.proxy.trafficUrl}${path}`, { headers: { 'x-customer-id': caller } });
    await response.arrayBuffer();
    assert.equal(response.status, 200);
    await until(() => impressionsOf(batches, caller) === before + 1, `the impression of ${caller}`);
  }

  before(async () => {
    database = await openTestDatabase('embedded');
    legacy = await listen((req, res) => {
      const id = /^\/products\/(\w+)$/.exec(req.url ?? '')?.[1] ?? '0';
      res.writeHead(200, { 'content-type': 'application/vnd.api+json' }).end(product(id, 8.99));
    });
    s = await startTestProxy({
      legacyUrl: legacy.url,
      // The new catalog's bug: product 2 at the wrong price, a mismatch to recheck.
      functions: { catalog: { handler: async (event: APIGatewayProxyEventV2) => {
        const id = event.pathParameters?.id ?? '0';
        return { statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: product(id, id === '2' ? 9.99 : 8.99) };
      } } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
      flagsConfig: { events: { batchSize: 1, flushIntervalMs: 60_000 } },
      eventDispatcher: dispatcher,
      extra: { store: { url: database.url, queue: { flushMs: 25 } } },
    });
    admin = s.proxy.adminUrl;
    await untilReady(admin, 'the embedded store open', 60_000);
    await served('shopper-with-a-mismatch', '/products/2');
    await until(async () => ((await (await fetch(`${admin}/api/diffs?group=catalog&verdict=mismatch`)).json()) as { diffs: unknown[] }).diffs.length === 1, 'the mismatch stored');
  });

  after(async () => {
    await s?.close();
    await legacy?.close();
    await database?.close();
  });

  it('serving a caller through the proxy sends one impression per request', async () => {
    assert.equal(impressionsOf(batches, 'shopper-with-a-mismatch'), 1);
    await served('shopper');
    await served('shopper');
    assert.equal(impressionsOf(batches, 'shopper'), 2);
  });

  it('/api/decide sends none', async () => {
    for (let i = 0; i < 3; i++) {
      const decision = await (await fetch(`${admin}/api/decide?group=catalog&caller=looked-up`)).json() as { stage: string; source: string };
      assert.deepEqual([decision.stage, decision.source], ['shadow', 'optimizely']);
    }
    await served('after-the-lookups');
    assert.equal(impressionsOf(batches, 'looked-up'), 0);
  });

  it("the report page and the API it reads send none", async () => {
    const page = await fetch(`${admin}/`);
    assert.equal(page.status, 200);
    await page.arrayBuffer();
    for (const path of ['/api/groups', '/api/diffs?group=catalog', '/api/fields?group=catalog']) {
      const response = await fetch(`${admin}${path}`);
      assert.equal(response.status, 200, path);
      await response.arrayBuffer();
    }
    const before = batches.length;
    await served('after-the-page');
    assert.equal(batches.length, before + 1, 'the one batch since the page was read is the served impression');
  });

  it('recheck sends none: the rechecked request was a caller served once, and stays counted once', async () => {
    let stdout = '', stderr = '';
    const code = await recheck({ group: 'catalog', admin, json: true }, {
      stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; }, fetch, env: { CUTOVER_ADMIN_TOKEN: ADMIN_TOKEN }, stderrIsTTY: false,
    });
    assert.equal(code, 1, `the mismatch still differs: ${stderr}`);
    assert.equal((JSON.parse(stdout) as { summary: { rechecked: number } }).summary.rechecked, 1);
    await served('after-the-recheck');
    assert.equal(impressionsOf(batches, 'shopper-with-a-mismatch'), 1);
  });

  it('POST /v1/decide sends one without DISABLE_DECISION_EVENT and none with it', async () => {
    const decide = (userId: string, decideOptions?: string[]) => fetch(`${admin}/v1/decide?keys=catalog_flag`, {
      method: 'POST', body: JSON.stringify({ userId, ...(decideOptions ? { decideOptions } : {}) }),
    });
    assert.equal((await decide('agent-silent', ['DISABLE_DECISION_EVENT'])).status, 200);
    assert.equal((await decide('agent-silent', ['DISABLE_DECISION_EVENT', 'INCLUDE_REASONS'])).status, 200);
    assert.equal((await decide('agent-counted')).status, 200);
    await until(() => impressionsOf(batches, 'agent-counted') === 1, 'the impression of the Agent decision without DISABLE_DECISION_EVENT');
    await served('after-the-agent');
    assert.equal(impressionsOf(batches, 'agent-silent'), 0);
    assert.equal(impressionsOf(batches, 'agent-counted'), 1);
  });
});

describe("POST /v1/decide: decideOptions as Optimizely Agent reads them", function () {
  this.timeout(20_000);
  let legacy: TestServer;
  let s: TestProxy;
  const decide = async (body: unknown, keys = 'catalog_flag&keys=orders_flag') => {
    const response = await fetch(`${s.proxy.adminUrl}/v1/decide?keys=${keys}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() as unknown };
  };

  before(async () => {
    legacy = await listen((_req, res) => res.end('legacy'));
    s = await startTestProxy({
      legacyUrl: legacy.url, functions: {},
      groups: {
        catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] },
        orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders'] },
      },
      flags: [{ key: 'catalog_flag', everyoneElse: 'live', shadowPercent: 25 }, { key: 'orders_flag', everyoneElse: 'off' }],
    });
  });
  after(async () => {
    await s?.close();
    await legacy?.close();
  });

  it('answers reasons only with INCLUDE_REASONS, variables unless EXCLUDE_VARIABLES, and disabled flags unless ENABLED_FLAGS_ONLY', async () => {
    type Answer = Array<{ flagKey: string; enabled: boolean; variables: object; reasons: string[] }>;
    const plain = (await decide({ userId: 'alice' })).body as Answer;
    assert.deepEqual(plain.map((decision) => [decision.flagKey, decision.enabled, decision.variables, decision.reasons]), [
      ['catalog_flag', true, { shadowPercent: 25 }, []],
      ['orders_flag', false, {}, []],
    ]);
    const explained = (await decide({ userId: 'alice', decideOptions: ['INCLUDE_REASONS'] })).body as Answer;
    assert.ok(explained.every((decision) => decision.reasons.length > 0), 'the SDK\'s reasons for each flag');
    const bare = (await decide({ userId: 'alice', decideOptions: ['EXCLUDE_VARIABLES'] })).body as Answer;
    assert.deepEqual(bare.map((decision) => decision.variables), [{}, {}]);
    const enabled = (await decide({ userId: 'alice', decideOptions: ['ENABLED_FLAGS_ONLY', 'IGNORE_USER_PROFILE_SERVICE'] })).body as Answer;
    assert.deepEqual(enabled.map((decision) => decision.flagKey), ['catalog_flag']);
  });

  it('refuses an unknown option 400, naming it, and decideOptions that is not a list', async () => {
    assert.deepEqual(await decide({ userId: 'alice', decideOptions: ['DISABLE_DECISION_EVENTS'] }), {
      status: 400,
      body: { error: 'unknown decide option "DISABLE_DECISION_EVENTS": Optimizely Agent\'s are DISABLE_DECISION_EVENT, ENABLED_FLAGS_ONLY, IGNORE_USER_PROFILE_SERVICE, INCLUDE_REASONS, EXCLUDE_VARIABLES' },
    });
    const notAList = await decide({ userId: 'alice', decideOptions: 'INCLUDE_REASONS' });
    assert.equal(notAList.status, 400);
    assert.match((notAList.body as { error: string }).error, /^"decideOptions" must be a list: the body is \{"userId"/);
  });
});

describe('impressions: a decision asked through cutover/decide serves a caller, so it is one', () => {
  it('sends one impression per decision, with A/B events configured', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-decide-impressions-'));
    const batches: LogEvent[] = [];
    const dispatcher: EventDispatcher = { dispatchEvent: async (event) => { batches.push(event); return { statusCode: 204 }; } };
    writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);
    const config = parseConfig({
      legacy: { url: 'http://127.0.0.1:1' },
      flags: { datafile: 'datafile.json', events: { batchSize: 1, flushIntervalMs: 60_000 } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
    }, dir, {});
    const decider = await openDecider({ config, dispatcher, log: capturedLogger().logger });
    try {
      assert.equal(decider.decide('catalog', 'storefront-shopper').stage, 'shadow');
      assert.equal(decider.decide('catalog', 'storefront-shopper').stage, 'shadow');
      await until(() => impressionsOf(batches, 'storefront-shopper') === 2, 'two impressions of the storefront\'s shopper');
    } finally {
      await decider.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
