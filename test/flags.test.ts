import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventDispatcher, LogEvent } from '@optimizely/optimizely-sdk';
import { flagsCheckCommand } from '../proxy/commands/flags-check.js';
import { checkDatafile } from '../proxy/decision/datafile/check.js';
import { parseConfig } from '../proxy/config/config.js';
import { type Decision, Flags, RememberedDecisions } from '../proxy/decision/flags.js';
import { Overrides } from '../proxy/decision/overrides.js';
import { buildDatafile, type FlagSpec, writeDatafile } from './support/datafile.js';
import { sample } from './support/metrics.js';
import { ADMIN_TOKEN, startTestProxy } from './support/proxy.js';
import { closedPort, listen } from './support/servers.js';
import { until } from './support/until.js';
import { createLogger } from '../proxy/telemetry/log.js';

const GROUPS = [{ name: 'catalog', flag: 'catalog_flag' }];
const silent = createLogger('silent');

describe('flags: the stage of a group for a caller', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-flags-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function flagsFor(specs: FlagSpec[], mutate: (datafile: Record<string, unknown>) => void = () => undefined, overrides?: Overrides): Promise<Flags> {
    const file = path.join(dir, `datafile-${Math.random().toString(36).slice(2)}.json`);
    const datafile = buildDatafile(specs);
    mutate(datafile);
    writeFileSync(file, JSON.stringify(datafile));
    const config = parseConfig({ legacy: { url: 'http://127.0.0.1:1' }, flags: { datafile: file }, groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } } }, dir, {});
    return Flags.open(config.flags, GROUPS, { log: silent, ...(overrides ? { overrides } : {}) });
  }

  for (const stage of ['legacy', 'shadow', 'live', 'complete'] as const) {
    it(`is the variation key: ${stage}`, async () => {
      const flags = await flagsFor([{ key: 'catalog_flag', rules: [{ key: 'everyone', variation: stage, percent: 100 }] }]);
      const decision = flags.decide('catalog', 'alice');
      assert.deepEqual([decision.stage, decision.source, decision.variation, decision.rule], [stage, 'optimizely', stage, 'everyone']);
      await flags.close();
    });
  }

  it('is legacy when the variation is disabled, even if its default variables say otherwise', async () => {
    const flags = await flagsFor([{ key: 'catalog_flag', everyoneElse: 'off' }], (datafile) => {
      const flag = (datafile.featureFlags as Array<{ variables: unknown[] }>)[0];
      if (flag) flag.variables = [{ id: '1', key: 'stage', type: 'string', defaultValue: 'complete' }];
    });
    const decision = flags.decide('catalog', 'alice');
    assert.deepEqual([decision.stage, decision.source, decision.variation], ['legacy', 'optimizely', 'off']);
    assert.match(decision.reasons[0] ?? '', /disabled/);
    await flags.close();
  });

  it('falls back to legacy for an enabled variation that names no stage, and for a flag missing from the datafile', async () => {
    const renamed = await flagsFor([{ key: 'catalog_flag', everyoneElse: 'live' }], (datafile) => {
      for (const rollout of datafile.rollouts as Array<{ experiments: Array<{ variations: Array<{ key: string }> }> }>) {
        for (const rule of rollout.experiments) for (const variation of rule.variations) if (variation.key === 'live') variation.key = 'beta';
      }
    });
    const decision = renamed.decide('catalog', 'alice');
    assert.deepEqual([decision.stage, decision.source], ['legacy', 'fallback']);
    assert.match(decision.reasons[0] ?? '', /"beta" .* is not a stage/);
    await renamed.close();

    const missing = await flagsFor([{ key: 'another_flag', everyoneElse: 'live' }]);
    assert.deepEqual([missing.decide('catalog', 'alice').stage, missing.decide('catalog', 'alice').source], ['legacy', 'fallback']);
    await missing.close();
  });

  it('lets an override beat Optimizely until it is cleared', async () => {
    const overrides = new Overrides(new Set(['catalog']), () => undefined, false, silent, { rereadMs: 1_000, staleAfterMs: 5_000, startWaitMs: 2_000 });
    const flags = await flagsFor([{ key: 'catalog_flag', everyoneElse: 'live' }], undefined, overrides);
    const forced = await overrides.change({ group: 'catalog', stage: 'legacy', reason: 'incident 42', actor: 'admin token' });
    assert.deepEqual({ ...forced, at: undefined }, { group: 'catalog', stage: 'legacy', previous: null, reason: 'incident 42', actor: 'admin token', at: undefined });
    assert.deepEqual([flags.decide('catalog', 'a').stage, flags.decide('catalog', 'a').source], ['legacy', 'override']);
    assert.equal((await overrides.change({ group: 'catalog', stage: null, reason: '', actor: 'admin token' })).previous, 'legacy');
    assert.equal(flags.decide('catalog', 'a').stage, 'live');
    assert.deepEqual((await overrides.changes()).map((change) => change.stage), [null, 'legacy'], 'the history, newest first');
    await flags.close();
  });

  it('splits 10,000 callers 25 % / 75 % within two points under a 25 % rule, and keeps each caller on one side', async () => {
    const flags = await flagsFor([{ key: 'catalog_flag', rules: [{ key: 'quarter', variation: 'live', percent: 25 }], everyoneElse: 'legacy' }]);
    const decisions: Decision[] = [];
    for (let i = 0; i < 10_000; i++) decisions.push(flags.decide('catalog', `customer-${i}`));
    const live = decisions.filter((decision) => decision.stage === 'live').length / decisions.length;
    assert.ok(Math.abs(live - 0.25) <= 0.02, `live share ${live}`);
    for (let i = 0; i < 100; i++) assert.equal(flags.decide('catalog', `customer-${i}`).stage, decisions[i]?.stage);
    await flags.close();
  });
});

describe('flags: datafile changes', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-flags-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('applies an edited datafile without a restart', async () => {
    const file = writeDatafile(path.join(dir, 'watched.json'), [{ key: 'catalog_flag', everyoneElse: 'legacy' }]);
    const config = parseConfig({ legacy: { url: 'http://127.0.0.1:1' }, flags: { datafile: file, watchIntervalMs: 20 }, groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /x'] } } }, dir, {});
    const flags = await Flags.open(config.flags, GROUPS, { log: silent });
    try {
      assert.equal(flags.decide('catalog', 'a').stage, 'legacy');
      writeDatafile(file, [{ key: 'catalog_flag', everyoneElse: 'live' }], 2);
      await until(() => flags.decide('catalog', 'a').stage === 'live', 'the edited datafile (stage live) to apply');
    } finally {
      await flags.close();
    }
  });

  it('polls a datafile URL (sdkKey and urlTemplate), deciding legacy until the first fetch', async () => {
    let served = JSON.stringify(buildDatafile([{ key: 'catalog_flag', everyoneElse: 'shadow' }]));
    let fetches = 0;
    const cdn = await listen((req, res) => {
      fetches += 1;
      if (req.url !== '/datafiles/sdk-123.json') return res.writeHead(404).end();
      // The first answer is late, so that the proxy is seen deciding before it has a datafile.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(served), fetches === 1 ? 150 : 0);
    });
    const config = parseConfig({ legacy: { url: 'http://127.0.0.1:1' }, flags: { sdkKey: 'sdk-123', urlTemplate: `${cdn.url}/datafiles/%s.json`, pollIntervalMs: 100 }, groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /x'] } } }, dir, {});
    const flags = await Flags.open(config.flags, GROUPS, { log: silent });
    try {
      assert.deepEqual([flags.decide('catalog', 'a').stage, flags.decide('catalog', 'a').source], ['legacy', 'fallback']);
      assert.equal(flags.ready, false);
      await until(() => flags.decide('catalog', 'a').source === 'optimizely', 'the first fetched datafile to apply');
      assert.equal(flags.decide('catalog', 'a').stage, 'shadow');
      assert.ok(fetches >= 1);
      served = JSON.stringify(buildDatafile([{ key: 'catalog_flag', everyoneElse: 'live' }], 2));
      await until(() => flags.decide('catalog', 'a').stage === 'live', 'the next fetched datafile (stage live) to apply');
    } finally {
      await flags.close();
      await cdn.close();
    }
  });
});

describe('flags through the proxy: admin API and A/B events', function () {
  this.timeout(20_000);

  it('guards overrides with the bearer token and explains decisions', async () => {
    const legacy = await listen((_req, res) => res.end('legacy'));
    const stack = await startTestProxy({ legacyUrl: legacy.url, functions: {}, groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } }, flags: [{ key: 'catalog_flag', rules: [{ key: 'all', variation: 'legacy', percent: 100 }] }] });
    const admin = stack.proxy.adminUrl;
    const put = (group: string, body: string, token?: string) => fetch(`${admin}/api/overrides/${group}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
    try {
      assert.equal((await put('catalog', '{"stage":"live"}')).status, 401);
      assert.equal((await put('catalog', '{"stage":"live"}', 'wrong-token-0123456789')).status, 401);
      assert.equal((await put('catalog', '{"stage":"sideways"}', ADMIN_TOKEN)).status, 400);
      assert.equal((await put('catalog', '{not json', ADMIN_TOKEN)).status, 400);
      assert.equal((await put('payments', '{"stage":"live"}', ADMIN_TOKEN)).status, 404);
      const extra = await put('catalog', '{"stage":"live","until":"tomorrow"}', ADMIN_TOKEN);
      assert.deepEqual([extra.status, await extra.json()], [400, { error: 'unknown key "until": the body is {"stage": one of legacy, shadow, live, complete, "reason": "why" (optional)}' }]);
      // A curl without a content-type header sends the same JSON: it is read as JSON, not refused as a wrong body.
      const bare = await fetch(`${admin}/api/overrides/catalog`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '{"stage":"shadow"}' });
      const changed = await bare.json() as Record<string, unknown>;
      assert.deepEqual([bare.status, { ...changed, at: undefined }], [200, { group: 'catalog', stage: 'shadow', previous: null, reason: '', actor: 'admin token', at: undefined, shared: false }]);
      assert.equal((await put('catalog', '{"stage":"live"}', ADMIN_TOKEN)).status, 200);
      const forced = await (await fetch(`${admin}/api/decide?group=catalog&caller=alice`)).json() as Decision;
      assert.deepEqual([forced.stage, forced.source], ['live', 'override']);
      assert.equal((await fetch(`${admin}/api/overrides/catalog`, { method: 'DELETE' })).status, 401);
      const cleared = await fetch(`${admin}/api/overrides/catalog?reason=drill%20over`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-cutover-actor': 'alice' } });
      assert.equal(cleared.status, 200);
      const clearedBody = await cleared.json() as Record<string, unknown>;
      assert.deepEqual([clearedBody.previous, clearedBody.cleared, clearedBody.reason, clearedBody.actor], ['live', true, 'drill over', 'admin token (alice)']);
      const decided = await (await fetch(`${admin}/api/decide?group=catalog&caller=alice`)).json() as Decision;
      assert.deepEqual([decided.stage, decided.source, decided.rule, decided.variation], ['legacy', 'optimizely', 'all', 'legacy']);
      assert.ok(decided.reasons.length > 0);
      assert.equal((await fetch(`${admin}/api/decide?group=catalog`)).status, 400);
      assert.equal((await fetch(`${admin}/api/decide?group=nope&caller=a`)).status, 404);
    } finally {
      await stack.close();
      await legacy.close();
    }
  });

  it('sends impressions and declared conversions, batched, through the event dispatcher', async () => {
    const batches: LogEvent[] = [];
    const dispatcher: EventDispatcher = { dispatchEvent: async (event) => { batches.push(event); return { statusCode: 204 }; } };
    const legacy = await listen((req, res) => { req.resume(); req.on('end', () => res.writeHead(req.method === 'POST' ? 201 : 200).end()); });
    const stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {},
      groups: { orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders', { route: 'POST /orders', conversion: 'order_placed' }] } },
      flags: [{ key: 'orders_flag', everyoneElse: 'legacy' }],
      events: ['order_placed'],
      flagsConfig: { events: { batchSize: 3, flushIntervalMs: 60_000 } },
      eventDispatcher: dispatcher,
    });
    try {
      await (await fetch(`${stack.proxy.trafficUrl}/orders`, { headers: { 'x-customer-id': 'buyer-1' } })).arrayBuffer();
      await (await fetch(`${stack.proxy.trafficUrl}/orders`, { method: 'POST', headers: { 'x-customer-id': 'buyer-1' }, body: '{}' })).arrayBuffer();
      await until(() => batches.length > 0, 'a batch of events to be dispatched');
      const payload = JSON.stringify(batches.map((batch) => batch.params));
      assert.match(payload, /"campaign_activated"/, 'impressions for decisions');
      assert.match(payload, /"order_placed"/, 'the conversion of the 2xx POST /orders');
      assert.match(payload, /buyer-1/);
    } finally {
      await stack.close();
      await legacy.close();
    }
  });
});

describe('cutover flags check', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-check-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the demo configuration and datafile', async () => {
    let out = '';
    const code = await flagsCheckCommand(['--config', 'demo/cutover.yaml'], { stdout: (text) => { out += text; }, stderr: (text) => { out += text; } });
    assert.equal(code, 0, out);
  });

  it('names a missing flag, a missing stage variation, and a disabled stage variation', () => {
    const datafile = buildDatafile([{ key: 'catalog_flag', everyoneElse: 'legacy', without: ['complete'] }]);
    const orders = JSON.parse(JSON.stringify(datafile).replace('"key":"shadow","featureEnabled":true', '"key":"shadow","featureEnabled":false'));
    assert.deepEqual(checkDatafile(orders, [{ name: 'catalog', flag: 'catalog_flag' }, { name: 'orders', flag: 'orders_flag' }]), [
      'group catalog: variation "shadow" of flag "catalog_flag" is disabled, so it would serve legacy',
      'group catalog: flag "catalog_flag" has no variation for stage complete',
      'group orders: flag "orders_flag" is not in the datafile',
    ]);
  });

  it('exits 1 with the problems, and 2 on an unreadable datafile', async () => {
    const config = path.join(dir, 'cutover.json');
    const datafile = writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'other_flag' }]);
    writeFileSync(config, JSON.stringify({ legacy: { url: 'http://127.0.0.1:1' }, flags: { datafile }, groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /x'] } } }));
    let errors = '';
    const io = { stdout: () => undefined, stderr: (text: string) => { errors += text; } };
    assert.equal(await flagsCheckCommand(['--config', config], io), 1);
    assert.match(errors, /flag "catalog_flag" is not in the datafile/);
    errors = '';
    assert.equal(await flagsCheckCommand(['--config', config, '--datafile', path.join(dir, 'absent.json')], io), 2);
    assert.match(errors, /^cutover flags check: .*absent\.json: ENOENT\n$/);
    assert.ok(readFileSync(datafile, 'utf8').length > 0);
  });
});

describe('start-up checks: mistakes that would otherwise only show as traffic stuck on legacy', function () {
  this.timeout(20_000);
  const groups = {
    catalog: { flag: 'catalog_migrationn', function: 'catalog', routes: ['GET /products'] },
    orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders'] },
  };
  interface Ready { status: string; reasons?: string[]; flags: string; datafile: { revision: string; appliedAt: string | undefined; ageSeconds: number | undefined } | null }
  /** /readyz without the times, which differ run by run; checked to be sane. */
  const untimed = (ready: Ready): Ready => {
    if (ready.datafile) assert.ok(Number(ready.datafile.ageSeconds) >= 0 && Date.parse(ready.datafile.appliedAt ?? '') <= Date.now(), JSON.stringify(ready.datafile));
    return { ...ready, datafile: ready.datafile && { ...ready.datafile, appliedAt: undefined, ageSeconds: undefined } };
  };
  const readyz = async (adminUrl: string) => {
    const response = await fetch(`${adminUrl}/readyz`);
    assert.equal(response.status, 200, 'degraded is still 200: the proxy serves');
    return await response.json() as Ready;
  };
  const warnings = (logs: string[]) => logs.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level === 40 && line.msg.startsWith('start-up check: ')).map((line) => line.msg);

  it('warns at start about a flag key the datafile lacks and a flag that cannot express the four stages; /readyz says degraded and legacy still serves', async () => {
    const legacy = await listen((_req, res) => res.end('legacy'));
    const stack = await startTestProxy({
      legacyUrl: legacy.url, functions: {}, groups,
      flags: [{ key: 'catalog_migration', everyoneElse: 'shadow' }, { key: 'orders_flag', everyoneElse: 'legacy', without: ['complete'] }],
    });
    try {
      assert.deepEqual(warnings(stack.logs), [
        'start-up check: group catalog: flag "catalog_migrationn" is not in the datafile; /readyz says degraded until the datafile is fixed (cutover flags check)',
        'start-up check: group orders: flag "orders_flag" has no variation for stage complete; /readyz says degraded until the datafile is fixed (cutover flags check)',
      ]);
      assert.deepEqual(untimed(await readyz(stack.proxy.adminUrl)), {
        status: 'degraded',
        reasons: ['group catalog: flag "catalog_migrationn" is not in the datafile', 'group orders: flag "orders_flag" has no variation for stage complete'],
        flags: 'loaded',
        datafile: { revision: '1', appliedAt: undefined, ageSeconds: undefined },
        overrides: 'in this process only (no store)',
      });
      const response = await fetch(`${stack.proxy.trafficUrl}/products`);
      assert.equal(await response.text(), 'legacy');
      assert.equal(sample(await stack.metrics(), 'cutover_requests_total', { group: 'catalog', route: 'GET /products', stage: 'legacy', served_by: 'legacy', status_class: '2xx' }), 1);

      // A corrected datafile (the flag renamed to what the configuration says) makes it ready again, without a restart.
      writeDatafile(stack.datafile, [{ key: 'catalog_migrationn', everyoneElse: 'shadow' }, { key: 'orders_flag', everyoneElse: 'legacy' }], 2);
      await until(async () => (await readyz(stack.proxy.adminUrl)).status === 'ready', 'the corrected datafile to make the proxy ready');
      assert.deepEqual(untimed(await readyz(stack.proxy.adminUrl)),
        { status: 'ready', flags: 'loaded', datafile: { revision: '2', appliedAt: undefined, ageSeconds: undefined }, overrides: 'in this process only (no store)' });
    } finally {
      await stack.close();
      await legacy.close();
    }
  });

  it('warns at start that the legacy URL does not accept connections, and /readyz names it', async () => {
    const port = await closedPort();
    const stack = await startTestProxy({ legacyUrl: `http://127.0.0.1:${port}`, functions: {}, groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } }, flags: [{ key: 'catalog_flag', everyoneElse: 'legacy' }] });
    try {
      await until(() => warnings(stack.logs).length > 0, 'the legacy warning');
      assert.deepEqual(warnings(stack.logs), [`start-up check: legacy http://127.0.0.1:${port}/ does not accept connections (ECONNREFUSED); requests served by legacy fail until it does`]);
      assert.deepEqual(untimed(await readyz(stack.proxy.adminUrl)), { status: 'degraded', reasons: [`legacy: http://127.0.0.1:${port}/ does not accept connections (ECONNREFUSED)`], flags: 'loaded', datafile: { revision: '1', appliedAt: undefined, ageSeconds: undefined }, overrides: 'in this process only (no store)' });
    } finally {
      await stack.close();
    }
  });

  it('is ready, with no start-up warning, when flags and legacy are sound; legacy counts no request from the check', async () => {
    let requests = 0;
    const legacy = await listen((_req, res) => { requests += 1; res.end('legacy'); });
    const stack = await startTestProxy({ legacyUrl: legacy.url, functions: {}, groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } }, flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }] });
    try {
      assert.deepEqual(untimed(await readyz(stack.proxy.adminUrl)),
        { status: 'ready', flags: 'loaded', datafile: { revision: '1', appliedAt: undefined, ageSeconds: undefined }, overrides: 'in this process only (no store)' });
      assert.deepEqual(warnings(stack.logs), []);
      assert.equal(requests, 0);
    } finally {
      await stack.close();
      await legacy.close();
    }
  });
});

describe('remembered decisions', () => {
  const decision = (caller: string, stage: Decision['stage']): Decision => ({ group: 'catalog', caller, flag: 'catalog_flag', stage, source: 'optimizely', variation: stage, rule: 'r', reasons: [], shadowPercent: undefined });

  it('asks the SDK once per group and caller for one datafile, again for a new one, and keeps at most its limit', () => {
    const remembered = new RememberedDecisions(2);
    const first = {};
    const second = {};
    let asked = 0;
    const ask = (caller: string, stage: Decision['stage']) => () => { asked += 1; return decision(caller, stage); };
    assert.equal(remembered.get(first, 'catalog', 'alice', ask('alice', 'shadow')).stage, 'shadow');
    assert.equal(remembered.get(first, 'catalog', 'alice', ask('alice', 'live')).stage, 'shadow', 'the same datafile decides the same');
    assert.equal(asked, 1);
    // Callers bucketed alike share what they got, each with its own id.
    assert.equal(remembered.get(first, 'catalog', 'dave', ask('dave', 'shadow')).caller, 'dave');
    assert.deepEqual(remembered.get(first, 'catalog', 'dave', ask('dave', 'live')), decision('dave', 'shadow'));
    assert.equal(asked, 2);
    assert.equal(remembered.get(second, 'catalog', 'alice', ask('alice', 'live')).stage, 'live', 'a new datafile decides afresh');
    remembered.get(second, 'catalog', 'bob', ask('bob', 'live'));
    remembered.get(second, 'catalog', 'carol', ask('carol', 'live'));
    assert.equal(asked, 5);
    remembered.get(second, 'catalog', 'alice', ask('alice', 'complete'));
    assert.equal(asked, 6, 'alice, the oldest, made room for carol');
    assert.equal(remembered.get(second, 'catalog', 'alice', ask('alice', 'legacy')).stage, 'complete', 'callers bucketed otherwise keep their own outcome');
    assert.equal(remembered.get(second, 'catalog', 'carol', ask('carol', 'legacy')).stage, 'live');
    assert.equal(asked, 6);
  });
});
