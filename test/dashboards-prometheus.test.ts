import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import pg from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { dashboards } from '../dashboards/src/index.js';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import {
  type PanelQuery, type TimeRange, type Variable, interpolatePromql, interpolateSql, labelValuesQuery, legendLabels, metricNames, panelQueries, variablesOf,
} from './support/grafana.js';
import { sample } from './support/metrics.js';
import { type RunningPrometheus, startPrometheus } from './support/prometheus.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * The dashboards and rules of dashboards/, proven against a real Prometheus (Debian's package)
 * scraping a real proxy with a real diff store, under traffic that makes every series exist:
 *  - catalog, in shadow: the new side is slower (120 ms) and answers another price for even ids;
 *  - orders, in shadow, 70 % mirrored: the new side fails a third of the reads and answers
 *    another status for another third; writes are not mirrored;
 *  - inventory, in shadow: its function always fails, so the shadow side's breaker opens and
 *    the shadows are skipped (shadow_circuit_open);
 *  - shipments, in live: its function always fails, so reads fall back to legacy and the breaker
 *    opens, and its guard (100 samples) rolls it back to shadow in the second phase of the traffic,
 *    so that its `live` requests span several scrapes (a rate needs two);
 *  - reviews: its flag's variation is renamed to one that names no stage, so callers are decided by the fallback;
 *  - the store's queue holds 2 records, so bursts of comparisons are dropped (queue_full).
 * Grafana's `$__rate_interval` exists only in Grafana: here a concrete 1-minute window stands for it
 * (test/support/grafana.ts), and `$__range` is the time since the traffic began.
 */

const ROOT = path.resolve('dashboards');
/** The group whose Group-detail panels must all show data: it has every kind of evidence. */
const DETAIL_GROUP = 'orders';
const GROUPS = ['catalog', 'inventory', 'orders', 'reviews', 'shipments'];

const json = (body: unknown) => ({ statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: JSON.stringify(body) });
const idOf = (event: APIGatewayProxyEventV2) => Number(event.pathParameters?.id ?? '0');
const product = (id: number, price: number) => ({ data: { type: 'products', id: String(id), attributes: { name: 'Rope Tug Toy', price } } });
const order = (id: number, status: string) => ({ data: { type: 'orders', id: String(id), attributes: { status, total: 12.5 } } });

const functions: Record<string, HostedFunction> = {
  catalog: {
    handler: async (event: APIGatewayProxyEventV2) => {
      await sleep(120);
      if (event.rawPath === '/categories') return json({ data: [{ type: 'categories', id: '1', attributes: { name: 'Toys' } }] });
      const id = idOf(event);
      return json(product(id, id % 2 === 0 ? 9.99 : 8.99));
    },
  },
  orders: {
    handler: async (event: APIGatewayProxyEventV2) => {
      const id = idOf(event);
      if (id % 3 === 0) throw new Error('orders: the new database is unreachable');
      return json(order(id, id % 3 === 1 ? 'confirmed' : 'placed'));
    },
  },
  inventory: { handler: async () => { throw new Error('inventory: the function times out on its database'); } },
  shipments: { handler: async () => { throw new Error('shipments: not deployed yet'); } },
  reviews: { handler: async () => json({ data: [] }) },
};

/** Legacy answers everything at once, the same for every id. */
function legacyAnswer(method: string, url: string): unknown {
  const id = Number(/\/(\d+)/.exec(url)?.[1] ?? '0');
  if (url.startsWith('/products/')) return product(id, 8.99);
  if (url.startsWith('/categories')) return { data: [{ type: 'categories', id: '1', attributes: { name: 'Toys' } }] };
  if (url.startsWith('/orders')) return order(id, 'placed');
  if (url.startsWith('/shipments/')) return { data: { type: 'shipments', id: String(id), attributes: { status: 'allocated' } } };
  if (url.startsWith('/stock/')) return { data: { type: 'stock', id: String(id), attributes: { units: 12 } } };
  return { data: [], meta: { method } };
}

/** One request of the mix, by its number: mostly reads of every group, a write now and then. */
function request(i: number): { method: string; path: string } {
  if (i % 10 === 9) return { method: 'POST', path: '/orders' };
  switch (i % 7) {
    case 0: return { method: 'GET', path: `/products/${i % 10}` };
    case 1: return { method: 'GET', path: '/categories' };
    case 2: case 3: return { method: 'GET', path: `/orders/${i % 9}` };
    case 4: return { method: 'GET', path: `/shipments/${i % 5}` };
    case 5: return { method: 'GET', path: `/stock/${i % 4}` };
    default: return { method: 'GET', path: '/reviews' };
  }
}

const PANEL_DEADLINE_MS = 20_000;

for (const kind of databaseKinds()) {
  describe(`the dashboards and rules against a real Prometheus scraping a real proxy (store: ${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(90_000);
    let database: TestDatabase;
    let legacy: TestServer;
    let s: TestProxy;
    let prometheus: RunningPrometheus;
    let began = 0;

    const send = async (count: number, offset = 0) => {
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          const { method, path: target } = request(i + offset);
          const response = await fetch(`${s.proxy.trafficUrl}${target}`, {
            method, headers: { 'x-customer-id': `caller-${i % 20}`, 'content-type': 'application/vnd.api+json' },
            ...(method === 'POST' ? { body: '{"data":{"type":"orders","attributes":{}}}' } : {}),
          });
          await response.arrayBuffer();
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    };

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/vnd.api+json' });
          res.end(JSON.stringify(legacyAnswer(req.method ?? 'GET', req.url ?? '/')));
        });
      });
      s = await startTestProxy({
        legacyUrl: legacy.url,
        functions,
        groups: {
          catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}', 'GET /categories'] },
          orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders/{id}', 'POST /orders'], shadow: { percent: 70 } },
          inventory: { flag: 'inventory_flag', function: 'inventory', routes: ['GET /stock/{id}'], circuit: { failures: 2, openMs: 60_000 } },
          shipments: { flag: 'shipments_flag', function: 'shipments', routes: ['GET /shipments/{id}'], circuit: { failures: 2, openMs: 300 }, guard: { enabled: true, minSamples: 100 } },
          reviews: { flag: 'reviews_flag', function: 'reviews', routes: ['GET /reviews'] },
        },
        flags: [
          { key: 'catalog_flag', everyoneElse: 'shadow' },
          { key: 'orders_flag', everyoneElse: 'shadow' },
          { key: 'inventory_flag', everyoneElse: 'shadow' },
          { key: 'shipments_flag', everyoneElse: 'live' },
          { key: 'reviews_flag', everyoneElse: 'live' },
        ],
        extra: {
          // A queue of 2: the bursts of the traffic overflow it, and records are dropped (queue_full).
          store: { url: database.url, sample: { match: 100 }, queue: { max: 2, batch: 2, flushMs: 25 } },
        },
      });
      await untilReady(s.proxy.adminUrl);

      // reviews: a variation key that names no stage, as a mistyped flag would give.
      const datafile = JSON.parse(readFileSync(s.datafile, 'utf8')) as { revision: string; featureFlags: Array<{ key: string; rolloutId: string }>; rollouts: Array<{ id: string; experiments: Array<{ variations: Array<{ key: string }> }> }> };
      const rolloutId = datafile.featureFlags.find((flag) => flag.key === 'reviews_flag')?.rolloutId;
      for (const rule of datafile.rollouts.find((rollout) => rollout.id === rolloutId)?.experiments ?? []) {
        for (const variation of rule.variations) if (variation.key === 'live') variation.key = 'beta';
      }
      datafile.revision = '2';
      writeFileSync(s.datafile, JSON.stringify(datafile));
      const decide = async (group: string) => (await (await fetch(`${s.proxy.adminUrl}/api/decide?group=${group}&caller=a`)).json()) as { source: string; stage: string };
      await until(async () => (await decide('reviews')).source === 'fallback', 'reviews decided by the fallback');
      const catalog = await decide('catalog');
      assert.deepEqual([catalog.stage, catalog.source], ['shadow', 'optimizely'], 'the other groups keep their flags');

      // Prometheus, as dashboards/prometheus/prometheus.yml configures it, scraping this proxy every second.
      const config = parseYaml(readFileSync(path.join(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as {
        global: Record<string, string>; rule_files: string[]; scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      };
      config.global.scrape_interval = '1s';
      config.global.evaluation_interval = '1s';
      config.rule_files = config.rule_files.map((file) => path.resolve(ROOT, 'prometheus', file));
      assert.equal(config.scrape_configs.length, 1);
      (config.scrape_configs[0] as { static_configs: Array<{ targets: string[] }> }).static_configs = [{ targets: [new URL(s.proxy.adminUrl).host] }];
      prometheus = await startPrometheus(stringifyYaml(config));
      // Prometheus hands new targets to its scrapers about 5 s after it starts (its discovery
      // manager's throttle, not configurable in 2.42): a counter first scraped at its final
      // value has no rate. So the traffic starts after the first scrape, and spans a few.
      await until(async () => (await prometheus.query('up{job="cutover"} == 1')).result.length === 1, 'the first scrape of the proxy', 15_000);

      began = Date.now() / 1000;
      for (let phase = 0; phase < 3; phase++) {
        await send(300, phase * 300);
        // A truncated datafile published after the first phase: refused, the one applied keeps deciding.
        if (phase === 0) writeFileSync(s.datafile, readFileSync(s.datafile, 'utf8').slice(0, 100));
        await sleep(1_200);
      }
      assert.equal(sample(await s.metrics(), 'cutover_datafile_errors_total', { reason: 'invalid_json' }), 1, 'the truncated datafile refused');
      assert.equal((await decide('reviews')).source, 'fallback', 'the datafile applied before (revision 2) still decides');
      assert.ok(sample(await s.metrics(), 'cutover_store_dropped_total', { reason: 'queue_full' }) >= 1, 'records dropped as queue_full');
      // Prometheus has scraped all of it once cutover_requests_total sums to every request sent.
      await until(async () => {
        const { result } = await prometheus.query('sum(cutover_requests_total)');
        return Number(result[0]?.value?.[1] ?? 0) >= 900;
      }, 'Prometheus to scrape the traffic', 10_000);
    });

    after(async () => {
      await prometheus?.close();
      await s?.close();
      await legacy?.close();
      await database?.close();
    });

    const range = (): TimeRange => ({ from: began - 5, to: Date.now() / 1000, rateInterval: '1m' });

    /** Each variable's values as Grafana would offer them, its query asked of Prometheus; a data source variable has none to resolve. */
    async function resolve(variables: Variable[], fixed: Record<string, readonly string[]>): Promise<Record<string, readonly string[]>> {
      const values: Record<string, readonly string[]> = { job: ['cutover'], admin_url: [s.proxy.adminUrl], ...fixed };
      for (const variable of variables) {
        if (variable.type !== 'query' || values[variable.name]) continue;
        const { match, label } = labelValuesQuery(variable.query);
        const time = range();
        values[variable.name] = await prometheus.labelValues(label, interpolatePromql(match, values, variables, time), time.from, time.to);
        assert.ok((values[variable.name] ?? []).length > 0, `variable ${variable.name}: ${variable.query} offers no value`);
      }
      return values;
    }

    /** Runs one panel query as Grafana would (instant or range), retrying until it has data or the deadline. */
    async function run(query: PanelQuery, values: Record<string, readonly string[]>, variables: Variable[], deadline: number) {
      for (;;) {
        const time = range();
        const expr = interpolatePromql(query.text, values, variables, time);
        const answer = query.instant ? await prometheus.query(expr, time.to) : await prometheus.queryRange(expr, time.from, time.to, 1);
        const withData = answer.result.filter((series) => (series.value ? [series.value] : series.values ?? []).some(([, value]) => value !== 'NaN'));
        if (withData.length > 0 || performance.now() > deadline) return { expr, series: withData };
        await sleep(250);
      }
    }

    it('offers every group and route through the template variables\' own queries', async () => {
      const overview = dashboards()['cutover-overview.json'];
      const values = await resolve(variablesOf(overview), {});
      assert.deepEqual([...(values.group ?? [])].sort(), GROUPS);
      assert.ok(values.route?.includes('GET /products/{id}'), `routes: ${String(values.route)}`);
      assert.ok(!values.route?.includes('unmatched'));
    });

    it('runs every PromQL query of every panel without error, and each returns data (its legend\'s labels included)', async () => {
      const deadline = performance.now() + PANEL_DEADLINE_MS;
      const empty: string[] = [];
      let ran = 0;
      for (const [file, dashboard] of Object.entries(dashboards())) {
        const variables = variablesOf(dashboard);
        // The overview with every group and route ("All"); the group detail for one group that has every kind of evidence.
        const values = await resolve(variables, file === 'cutover-group.json' ? { group: [DETAIL_GROUP] } : {});
        for (const query of panelQueries(dashboard).filter((candidate) => candidate.kind === 'promql')) {
          const { expr, series } = await run(query, values, variables, deadline);
          ran += 1;
          if (series.length === 0) { empty.push(`${query.dashboard} / ${query.panel} ${query.refId}:\n${expr}`); continue; }
          for (const label of legendLabels(query.legend)) {
            assert.ok(series.every((entry) => label in entry.metric), `${query.dashboard} / ${query.panel} ${query.refId}: the legend names {{${label}}}, which a series lacks: ${JSON.stringify(series[0]?.metric)}`);
          }
        }
      }
      assert.deepEqual(empty, [], 'panel queries that returned no data');
      assert.ok(ran >= 40, `${ran} queries ran`);
    });

    it('runs the group detail\'s PromQL for every group without error', async () => {
      const dashboard = dashboards()['cutover-group.json'];
      const variables = variablesOf(dashboard);
      for (const group of GROUPS) {
        const values = await resolve(variables, { group: [group] });
        for (const query of panelQueries(dashboard).filter((candidate) => candidate.kind === 'promql')) await run(query, values, variables, 0);
      }
    });

    it('evaluates every rule without error; every recording rule has data; the traffic makes every alert pending or firing', async () => {
      const started = Date.now();
      await until(async () => {
        const rules = await prometheus.rules();
        return rules.length > 0 && rules.every((rule) => rule.health === 'ok' && Date.parse(rule.lastEvaluation) > started);
      }, 'every rule evaluated, healthy', 10_000).catch(async (error: Error) => {
        const broken = (await prometheus.rules()).filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.health} ${rule.lastError ?? ''}`);
        throw new Error(`${error.message}\n${broken.join('\n')}`);
      });
      const rules = await prometheus.rules();
      const fileRules = (parseYaml(readFileSync(path.join(ROOT, 'rules/cutover.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ record?: string; alert?: string }> }> }).groups.flatMap((group) => group.rules);
      assert.equal(rules.length, fileRules.length, 'Prometheus loaded every rule of dashboards/rules');
      for (const rule of rules) await prometheus.query(rule.query);
      const deadline = performance.now() + 10_000;
      for (const rule of rules.filter((candidate) => candidate.type === 'recording')) {
        const { series } = await run({ text: rule.name, instant: true } as PanelQuery, {}, [], deadline);
        assert.ok(series.length > 0, `recording rule ${rule.name} has no data`);
      }
      // CutoverGuardUnable needs the store away during a breach, which would leave the store's
      // panels here without data: its expression is proven by promtool (dashboards/tests), the
      // gauge it reads by test/guard.test.ts.
      const wanted = rules.filter((rule) => rule.type === 'alerting' && rule.name !== 'CutoverGuardUnable').map((rule) => rule.name).sort();
      let active: string[] = [];
      await until(async () => {
        active = [...new Set((await prometheus.alerts()).filter((alert) => ['pending', 'firing'].includes(alert.state)).map((alert) => String(alert.labels.alertname)))].sort();
        return active.length === wanted.length;
      }, 'every alert pending', 15_000).catch(() => undefined);
      assert.deepEqual(active, wanted, 'alerts the traffic should have made pending');
      const alerts = await prometheus.alerts();
      const of = (name: string) => alerts.filter((alert) => alert.labels.alertname === name).map((alert) => alert.labels.group ?? alert.labels.reason);
      assert.ok(of('CutoverFallbacks').includes('shipments'));
      assert.ok(of('CutoverBreakerOpen').includes('shipments'));
      assert.deepEqual(of('CutoverFlagsOnFallback'), ['reviews']);
      assert.deepEqual(of('CutoverDatafileRefused'), ['invalid_json']);
      assert.ok(of('CutoverStoreDropping').includes('queue_full'));
      assert.ok(of('CutoverMismatchRateAfterStageChange').includes('catalog'));
      assert.ok(of('CutoverNewSideErrorsAboveLegacy').includes('orders'));
      assert.ok(of('CutoverShadowsSkipped').includes('inventory'));
      assert.ok(of('CutoverNewP99AboveLegacy').includes('catalog'));
      assert.deepEqual(of('CutoverGuardTripped'), ['shipments']);
    });

    it('ingests every metric name the panels and rules read from the proxy\'s /metrics', async () => {
      const names = new Set(await prometheus.get<string[]>('/api/v1/label/__name__/values'));
      const recorded = new Set((await prometheus.rules()).filter((rule) => rule.type === 'recording').map((rule) => rule.name));
      const used = new Set([
        ...Object.values(dashboards()).flatMap((dashboard) => panelQueries(dashboard)).filter((query) => query.kind === 'promql').flatMap((query) => metricNames(query.text)),
        ...(await prometheus.rules()).flatMap((rule) => metricNames(rule.query)),
      ]);
      const missing = [...used].filter((name) => !names.has(name) && !recorded.has(name));
      assert.deepEqual(missing, [], 'metric names no series of the proxy has');
    });

    it('runs every SQL query of the dashboards against the store\'s schema, and each returns rows with the columns the panel names', async () => {
      const dashboard = dashboards()['cutover-group.json'];
      const variables = variablesOf(dashboard);
      const sql = panelQueries(dashboard).filter((query) => query.kind === 'sql');
      assert.ok(sql.length >= 5);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        for (const group of GROUPS) {
          for (const query of sql) {
            const text = interpolateSql(query.text, { group: [group] }, variables, { ...range(), to: Date.now() / 1000 + 60 });
            let rows: Array<Record<string, unknown>> = [];
            let fields: string[] = [];
            // The per-minute counts are written at the next flush: wait for them, on the group that has every kind.
            await until(async () => {
              const answer = await client.query(text);
              rows = answer.rows;
              fields = answer.fields.map((field) => field.name);
              return group !== DETAIL_GROUP || rows.length > 0;
            }, `rows from "${query.panel}" for ${group}`, 10_000);
            if (query.panelType === 'table') {
              for (const name of query.fieldNames) assert.ok(fields.includes(name), `${query.panel}: the panel names column "${name}", which the query does not return (${fields.join(', ')})`);
            }
            if (query.panelType === 'timeseries') assert.deepEqual(fields, ['time', 'metric', 'value'], `${query.panel}: a time series query returns time, metric, value`);
          }
        }
        // A sample id in the table opens that sample: the report page reads it from /api/diffs/:id.
        const recent = sql.find((query) => query.panel === 'Recent mismatches and errors');
        assert.ok(recent);
        const { rows } = await client.query<{ sample: string; verdict: string; fields: string }>(interpolateSql(recent.text, { group: [DETAIL_GROUP] }, variables, { ...range(), to: Date.now() / 1000 + 60 }));
        assert.deepEqual([...new Set(rows.map((row) => row.verdict))].sort(), ['error', 'mismatch']);
        assert.ok(rows.some((row) => row.fields === '/data/attributes/status'));
        const stored = await (await fetch(`${s.proxy.adminUrl}/api/diffs/${rows[0]?.sample}`)).json() as { group: string };
        assert.equal(stored.group, DETAIL_GROUP);
      } finally {
        await client.end();
      }
    });
  });
}
