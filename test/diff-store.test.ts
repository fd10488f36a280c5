import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import pg from 'pg';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { StoreDatabase } from '../proxy/store/database.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { sample } from './support/metrics.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

const run = promisify(execFile);

/** Secrets a client sends and a side answers: none may reach the store. */
const SECRETS = { bearer: 'tok-9c1d2e3f', cookie: 'sid=77aa88bb', query: 'q-secret-5150', email: 'alice.liddell@example.org', caller: 'customer-7f3a9', setCookie: 'session=ff00ee11' };

const product = (id: string, price: number) => JSON.stringify({
  data: { type: 'products', id, attributes: { name: 'Rope Tug Toy', price, contact: SECRETS.email } },
  meta: { requestId: Math.random().toString(36) },
});

interface GroupView {
  name: string;
  window: string;
  requests: { total: number; byStage: Record<string, number>; servedBy: Record<string, number> };
  comparisons: { total: number };
  latency: { legacy: { p99Ms: number }; new: { p99Ms: number } };
  errorRate: { new: number | null };
  readiness: { verdict: string; reasons: Array<{ text: string }> };
}

interface Api { status: number; body: Record<string, unknown> & { diffs?: Array<Record<string, unknown>> } }

for (const kind of databaseKinds()) {
  describe(`the diff store and the review API (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    const legacyHeaders: IncomingHttpHeaders[] = [];
    let legacy: TestServer;
    let database: TestDatabase;
    let s: TestProxy;

    const functions: Record<string, HostedFunction> = {
      catalog: {
        handler: async (event: APIGatewayProxyEventV2) => {
          const id = event.pathParameters?.id ?? '0';
          return { statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: product(id, id === '2' ? 9.99 : 8.99) };
        },
      },
    };

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((req, res) => {
        legacyHeaders.push(req.headers);
        const id = /\/products\/(\w+)/.exec(req.url ?? '')?.[1] ?? '0';
        res.writeHead(200, { 'content-type': 'application/vnd.api+json', 'set-cookie': SECRETS.setCookie });
        res.end(product(id, 8.99));
      });
      s = await startTestProxy({
        legacyUrl: legacy.url, functions,
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'], rules: { ignore: ['/meta/requestId'] } } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        extra: {
          store: {
            url: database.url,
            sample: { match: 100 },
            queue: { flushMs: 25 },
            redact: { query: ['token'], pointers: ['/data/attributes/contact'] },
          },
        },
      });
      // Comparisons made before the store is open are counted, not kept: the tests start once it is.
      await untilReady(s.proxy.adminUrl);
    });

    after(async () => {
      await s?.close();
      await legacy?.close();
      await database?.close();
    });

    const api = async (path: string, init?: RequestInit): Promise<Api> => {
      const response = await fetch(`${s.proxy.adminUrl}${path}`, init);
      return { status: response.status, body: await response.json() as Api['body'] };
    };
    const get = async (path: string) => {
      const response = await fetch(`${s.proxy.trafficUrl}${path}`, {
        headers: { 'x-customer-id': SECRETS.caller, authorization: `Bearer ${SECRETS.bearer}`, cookie: SECRETS.cookie },
      });
      await response.arrayBuffer();
      assert.equal(response.status, 200);
      return response.headers.get('x-request-id') ?? '';
    };
    const stored = async (query: string) => (await api(`/api/diffs?${query}`)).body.diffs ?? [];

    it('keeps a mismatch with its request, both responses, the differences, what the rules hid, and replays that reproduce it', async () => {
      const requestId = await get(`/products/2?token=${SECRETS.query}&view=full`);
      await until(async () => (await stored('group=catalog&verdict=mismatch')).some((diff) => diff.requestId === requestId), 'the mismatch in the store');
      const [summary] = (await stored('group=catalog&verdict=mismatch')).filter((diff) => diff.requestId === requestId);
      assert.deepEqual({ ...summary, id: undefined, at: undefined }, {
        id: undefined, at: undefined, requestId, group: 'catalog', route: 'GET /products/{id}', method: 'GET', path: '/products/2', query: 'token=[redacted]&view=full',
        verdict: 'mismatch', legacyStatus: 200, newStatus: 200, fields: ['/data/attributes/price'],
      });

      const { status, body: diff } = await api(`/api/diffs/${String(summary?.id)}`);
      assert.equal(status, 200);
      const request = diff.request as Record<string, unknown>;
      assert.equal(request.query, 'token=[redacted]&view=full');
      assert.equal(request.requestId, requestId);
      assert.match(String(request.caller), /^hmac:[0-9a-f]{24}$/);
      assert.equal(diff.stage, 'shadow');
      assert.equal(diff.primarySide, 'legacy');
      const headers = request.headers as Record<string, string>;
      assert.equal(headers.authorization, '[redacted]');
      assert.equal(headers.cookie, '[redacted]');
      assert.equal(headers['x-customer-id'], '[redacted]');
      const legacySide = diff.legacy as { status: number; bodyEncoding: string; body: { data: { attributes: Record<string, unknown> } }; headers: Record<string, string>; ms: number };
      const newSide = diff.new as typeof legacySide;
      assert.equal(legacySide.bodyEncoding, 'json');
      assert.equal(legacySide.body.data.attributes.price, 8.99);
      assert.equal(newSide.body.data.attributes.price, 9.99);
      assert.equal(legacySide.body.data.attributes.contact, '[redacted]');
      assert.equal(legacySide.headers['set-cookie'], '[redacted]');
      assert.ok(legacySide.ms > 0 && newSide.ms > 0, 'both sides timed');
      assert.deepEqual(diff.differences, [{ path: '/data/attributes/price', kind: 'changed', legacy: 8.99, new: 9.99, field: '/data/attributes/price', noise: false }]);
      assert.deepEqual((diff.hidden as Array<Record<string, unknown>>).map((hidden) => [hidden.path, hidden.rule]), [['/meta/requestId', 'ignore: /meta/requestId']]);

      const replay = diff.replay as { legacy: string; new: string; caveats: string[] };
      assert.deepEqual(replay.caveats, ['not stored, so not sent: authorization, cookie, x-customer-id (add your own)', 'query parameters were redacted']);
      legacyHeaders.length = 0;
      const legacyReplay = await run('sh', ['-c', replay.legacy]);
      assert.match(legacyReplay.stdout, /^HTTP\/1\.1 200/);
      assert.equal(JSON.parse(legacyReplay.stdout.slice(legacyReplay.stdout.indexOf('\r\n\r\n') + 4)).data.attributes.price, 8.99);
      assert.equal(legacyHeaders[0]?.['x-cutover-shadow'], '1', 'the replay is marked as a shadow, so legacy persists nothing');
      assert.equal(legacyHeaders[0]?.['x-request-id'], `${requestId}-replay`);
      const newReplay = await run('sh', ['-c', replay.new], { env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } });
      const result = JSON.parse(newReplay.stdout) as { statusCode: number; body: string };
      assert.equal(result.statusCode, 200);
      assert.equal(JSON.parse(result.body).data.attributes.price, 9.99);
    });

    it('rechecks a stored mismatch against both sides, marked as shadows, and says it still differs', async () => {
      const requestId = await get('/products/2');
      await until(async () => (await stored('group=catalog&verdict=mismatch&limit=1'))[0]?.requestId === requestId, 'the mismatch stored');
      const [diff] = await stored('group=catalog&verdict=mismatch&limit=1');
      const refused = await api(`/api/diffs/${String(diff?.id)}/recheck`, { method: 'POST' });
      assert.equal(refused.status, 401);
      const { status, body } = await api(`/api/diffs/${String(diff?.id)}/recheck`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(status, 200);
      assert.equal(body.was, 'mismatch');
      assert.equal(body.verdict, 'mismatch');
      assert.deepEqual((body.differences as Array<{ path: string }>).map((difference) => difference.path), ['/data/attributes/price']);
    });

    it('counts fields, keeps a sample of matches, and says why the group is not ready', async () => {
      const mismatchId = await get('/products/2');
      const matchId = await get('/products/1');
      await until(async () => (await stored('group=catalog&verdict=match')).some((diff) => diff.requestId === matchId), 'the sampled match in the store');
      await until(async () => (await stored('group=catalog&verdict=mismatch')).some((diff) => diff.requestId === mismatchId), 'the mismatch in the store');
      const fields = (await api('/api/fields?group=catalog')).body.fields as Array<Record<string, unknown>>;
      const price = fields.find((field) => field.field === '/data/attributes/price');
      assert.ok(price, `the price field is listed: ${JSON.stringify(fields)}`);
      assert.equal(price.route, 'GET /products/{id}');
      assert.equal(price.noise, false);
      assert.ok(Number(price.count) >= 1);
      assert.match(String(price.exampleId), /^\d+$/);

      await until(async () => {
        const groups = (await api('/api/groups')).body.groups as Array<{ comparisons?: { total: number } }>;
        return (groups[0]?.comparisons?.total ?? 0) >= 2;
      }, 'the comparisons counted');
      const [group] = (await api('/api/groups')).body.groups as GroupView[];
      assert.equal(group?.name, 'catalog');
      assert.equal(group?.window, '24h');
      assert.equal(group?.requests.byStage.shadow, group?.requests.total);
      assert.equal(group?.requests.servedBy.legacy, group?.requests.total);
      assert.ok((group?.latency.legacy.p99Ms ?? 0) > 0 && (group?.latency.new.p99Ms ?? 0) > 0);
      assert.equal(group?.errorRate.new, 0);
      assert.equal(group?.readiness.verdict, 'insufficient_data');
      const total = group?.comparisons.total ?? 0;
      assert.equal(group?.readiness.reasons[0]?.text, `${total} comparisons in 24 h (≥ 1,000)`);
      assert.equal((await api('/api/groups?window=1x')).status, 400);
      assert.equal((await api('/api/diffs?verdict=maybe')).status, 400);
      assert.equal((await api('/api/diffs/not-an-id')).status, 400);
      assert.equal((await api('/api/diffs/999999999')).status, 404);
    });

    it('pages newest first with a cursor, and filters by field', async () => {
      for (let i = 0; i < 5; i++) await get('/products/2');
      await until(async () => (await stored('group=catalog&verdict=mismatch&limit=500')).length >= 5, 'five mismatches stored');
      const seen: string[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const page: Api = await api(`/api/diffs?group=catalog&field=/data/attributes/price&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.ok((page.body.diffs ?? []).length <= 2);
        seen.push(...(page.body.diffs ?? []).map((diff) => String(diff.id)));
        cursor = page.body.nextCursor as string | null;
      }
      assert.ok(seen.length >= 5);
      assert.deepEqual(seen, [...seen].sort((a, b) => Number(b) - Number(a)), 'newest first');
      assert.equal(new Set(seen).size, seen.length, 'no comparison on two pages');
      assert.deepEqual(await stored('group=catalog&field=/nowhere'), []);
    });

    it('stores no credential, no redacted member and no raw caller key', async () => {
      const requestId = await get(`/products/2?token=${SECRETS.query}`);
      await until(async () => (await stored('group=catalog&verdict=mismatch&limit=1'))[0]?.requestId === requestId, 'the mismatch stored');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ text: string }>('SELECT c::text AS text FROM cutover_comparisons c');
        assert.ok(rows.length >= 1);
        for (const { text } of rows) {
          for (const [name, secret] of Object.entries(SECRETS)) assert.ok(!text.includes(secret), `a stored comparison holds the ${name}`);
        }
      } finally {
        await client.end();
      }
    });

    it('migrates once when two proxies start together, and prunes beyond the row limit and the age limit', async () => {
      for (let i = 0; i < 4; i++) await get('/products/2');
      await until(async () => (await stored('group=catalog&verdict=mismatch&limit=500')).length >= 4, 'four mismatches stored');
      // Counted below: wait until no shadow is under way and nothing was written for longer than a flush (25 ms).
      const written = async () => sample(await s.metrics(), 'cutover_store_written_total', {});
      await until(async () => {
        const before = await written();
        await new Promise((resolve) => setTimeout(resolve, 100));
        const metrics = await s.metrics();
        return sample(metrics, 'cutover_shadow_inflight', {}) === 0 && sample(metrics, 'cutover_store_written_total', {}) === before;
      }, 'the writer idle');
      const [a, b] = await Promise.all([StoreDatabase.open(database.url, () => undefined), StoreDatabase.open(database.url, () => undefined)]);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const versions = (await client.query<{ version: number }>('SELECT version FROM cutover_store_migrations')).rows;
        assert.deepEqual(versions.map((row) => row.version), [1, 2, 3, 4, 5, 6]);
        const count = async (table: string) => Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
        const before = await count('cutover_comparisons');
        assert.equal(await a.prune(168, 3), before - 3);
        assert.equal(await count('cutover_comparisons'), 3);

        await client.query(`UPDATE cutover_comparisons SET at = now() - interval '3 hours' WHERE id = (SELECT min(id) FROM cutover_comparisons)`);
        await client.query(`DELETE FROM cutover_comparison_minutes WHERE minute < (SELECT max(minute) FROM cutover_comparison_minutes)`);
        await client.query(`UPDATE cutover_comparison_minutes SET minute = now() - interval '3 hours'`);
        assert.equal(await a.prune(2, 100), 1, 'the comparison older than 2 h');
        assert.equal(await count('cutover_comparisons'), 2);
        assert.equal(await count('cutover_comparison_minutes'), 0, 'counts older than 2 h');
      } finally {
        await client.end();
        await a.close();
        await b.close();
      }
    });
  });
}

describe('the diff store by default', function () {
  this.timeout(60_000);

  it('is embedded Postgres in a child process of the proxy, which stops with it', async () => {
    const legacy = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"price":8.99}');
    });
    const s = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"price":9.99}' }) } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
      extra: { store: { queue: { flushMs: 25 } } },
    });
    let url = '';
    try {
      await untilReady(s.proxy.adminUrl, 'the embedded store open', 20_000);
      url = (JSON.parse(s.logs.find((line) => line.includes('embedded Postgres at')) ?? '{}') as { store?: string }).store ?? '';
      assert.match(url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\//);
      await (await fetch(`${s.proxy.trafficUrl}/price`, { headers: { 'x-customer-id': 'c1' } })).arrayBuffer();
      await until(async () => {
        const { diffs } = await (await fetch(`${s.proxy.adminUrl}/api/diffs?verdict=mismatch`)).json() as { diffs: unknown[] };
        return diffs.length === 1;
      }, 'the mismatch kept in embedded Postgres');
    } finally {
      await s.close();
      await legacy.close();
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    await assert.rejects(client.connect(), /ECONNREFUSED/, 'embedded Postgres stopped with the proxy');
  });
});
