import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { Decision } from '../proxy/decision/flags.js';
import { buildDatafile, type FlagSpec, writeDatafile } from './support/datafile.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

const SECRET = 'whsec-test-0123456789abcdefghij';
const SECRET_ENV = 'CUTOVER_TEST_WEBHOOK_SECRET';
const SDK_KEY = 'sdk-webhook';
/** Far beyond the 5 s promise: within it, only the webhook and its notification can have carried a change. */
const POLL_MS = 5 * 60_000;
const GROUPS = { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } };

/** Optimizely's signature: `sha1=` and the hex HMAC-SHA1 of the raw body with the webhook's secret. */
function sign(body: string, secret = SECRET): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}

/** A datafile-updated event as Optimizely sends it, its bytes as written here. */
const PUBLISHED = '{"project_id": 20000, "timestamp": 1765065600, "event": "project.datafile_updated", "data": {"revision": 2, "cdn_url": "https://cdn.optimizely.com/datafiles/sdk-webhook.json", "environment": "Production"}}';

/** A local server standing in for Optimizely's CDN: serves the datafile of `flags`, and counts the fetches. */
class Cdn {
  fetches = 0;
  private served = '';
  private constructor(readonly server: TestServer) {}

  static async start(flags: FlagSpec[]): Promise<Cdn> {
    const cdn: { current?: Cdn } = {};
    const server = await listen((req, res) => {
      if (!cdn.current || req.url !== `/datafiles/${SDK_KEY}.json`) return res.writeHead(404).end();
      cdn.current.fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(cdn.current.served);
    });
    cdn.current = new Cdn(server);
    cdn.current.publish(flags, 1);
    return cdn.current;
  }

  publish(flags: FlagSpec[], revision: number): void {
    this.served = JSON.stringify(buildDatafile(flags, revision));
  }

  get urlTemplate(): string {
    return `${this.server.url}/datafiles/%s.json`;
  }
}

async function replica(cdn: Cdn, legacy: TestServer, options: { store?: Record<string, unknown>; secret?: boolean } = {}): Promise<TestProxy> {
  const proxy = await startTestProxy({
    legacyUrl: legacy.url,
    functions: { catalog: { handler: async () => ({ statusCode: 200, body: 'new' }) } },
    groups: GROUPS,
    flags: [],
    flagsConfig: {
      datafile: undefined, watchIntervalMs: undefined, sdkKey: SDK_KEY, urlTemplate: cdn.urlTemplate, pollIntervalMs: POLL_MS,
      ...(options.secret === false ? {} : { webhookSecretEnv: SECRET_ENV }),
    },
    env: { [SECRET_ENV]: SECRET },
    ...(options.store ? { extra: { store: options.store } } : {}),
  });
  await until(async () => (await decided(proxy)).source === 'optimizely', 'the first datafile fetched from the CDN');
  return proxy;
}

async function decided(proxy: TestProxy): Promise<Decision> {
  return (await (await fetch(`${proxy.proxy.adminUrl}/api/decide?group=catalog&caller=alice`)).json()) as Decision;
}

function webhook(proxy: TestProxy, body: string, signature: string | undefined): Promise<Response> {
  return fetch(`${proxy.proxy.adminUrl}/webhooks/optimizely`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-hub-signature': signature }) },
    body,
  });
}

/** The one line of a problem document. */
async function detailOf(response: Response): Promise<string> {
  const document = await response.json() as { errors: Array<{ detail: string }> };
  assert.equal(document.errors.length, 1);
  return document.errors[0]?.detail ?? '';
}

describe('Optimizely webhook: signed, and fanned out through the store', function () {
  this.timeout(60_000);
  let legacy: TestServer;
  let cdn: Cdn;
  const proxies: TestProxy[] = [];

  before(async () => {
    legacy = await listen((_req, res) => res.end('legacy'));
  });
  beforeEach(async () => {
    cdn = await Cdn.start([{ key: 'catalog_flag', everyoneElse: 'legacy' }]);
  });
  afterEach(async () => {
    while (proxies.length > 0) await proxies.pop()?.close();
    await cdn.server.close();
  });
  after(async () => {
    await legacy?.close();
  });

  it('refuses every payload not signed with the secret over its exact bytes (401, counted), and fetches nothing for one', async () => {
    const one = await replica(cdn, legacy);
    proxies.push(one);
    cdn.publish([{ key: 'catalog_flag', everyoneElse: 'live' }], 2);
    const fetched = cdn.fetches;
    const good = sign(PUBLISHED);
    const flipped = `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`;
    const forged: Array<[string, string, string | undefined]> = [
      ['no signature', PUBLISHED, undefined],
      ['one hex digit changed', PUBLISHED, flipped],
      ['the right HMAC of another secret', PUBLISHED, sign(PUBLISHED, 'another-secret-0123456789')],
      ['HMAC-SHA256 instead of SHA1 (another length)', PUBLISHED, `sha256=${createHmac('sha256', SECRET).update(PUBLISHED).digest('hex')}`],
      ['the hex without its "sha1=" prefix', PUBLISHED, good.slice('sha1='.length)],
      ['the signature of the same JSON written otherwise (the bytes count, not the parse)', JSON.stringify(JSON.parse(PUBLISHED)), good],
      ['an empty header', PUBLISHED, ''],
    ];
    for (const [what, body, signature] of forged) {
      const response = await webhook(one, body, signature);
      assert.equal(response.status, 401, what);
      assert.match(response.headers.get('content-type') ?? '', /^application\/vnd\.api\+json/);
      assert.match(await detailOf(response), /X-Hub-Signature header is missing or is not the payload's HMAC-SHA1/, what);
    }
    // The answers came before any fetch would have (a verified webhook answers once its fetch is done).
    assert.equal(cdn.fetches, fetched, 'no fetch of the datafile for a refused webhook');
    assert.equal((await decided(one)).stage, 'legacy');
    assert.equal(sample(await one.metrics(), 'cutover_webhooks_total', { outcome: 'bad_signature' }), forged.length);
    assert.equal(sample(await one.metrics(), 'cutover_webhooks_total', { outcome: 'fetched' }), 0);

    // The same bytes, signed: fetched at once, though the next poll is minutes away.
    const accepted = await webhook(one, PUBLISHED, good);
    assert.deepEqual([accepted.status, await accepted.json()], [200, { fetched: true, announced: false, why: 'no store is open, so no other replica was told (they obey it at their next poll)' }]);
    assert.equal(cdn.fetches, fetched + 1);
    assert.deepEqual([(await decided(one)).stage, (await decided(one)).source], ['live', 'optimizely']);
    assert.equal(sample(await one.metrics(), 'cutover_webhooks_total', { outcome: 'fetched' }), 1);
    assert.ok(one.logs.some((line) => line.includes('webhook: refused a payload without a valid X-Hub-Signature')), 'refusals are logged');
    assert.ok(!one.logs.some((line) => line.includes(SECRET)), 'the secret is in no log line');
  });

  it('re-reads a local datafile at once, its watch minutes away', async () => {
    const local = await startTestProxy({
      legacyUrl: legacy.url, functions: {}, groups: GROUPS,
      flags: [{ key: 'catalog_flag', everyoneElse: 'legacy' }],
      flagsConfig: { watchIntervalMs: POLL_MS, webhookSecretEnv: SECRET_ENV },
      env: { [SECRET_ENV]: SECRET },
    });
    proxies.push(local);
    assert.equal((await decided(local)).stage, 'legacy');
    writeDatafile(local.datafile, [{ key: 'catalog_flag', everyoneElse: 'live' }], 2);
    const accepted = await webhook(local, PUBLISHED, sign(PUBLISHED));
    assert.equal(accepted.status, 200);
    assert.equal((await decided(local)).stage, 'live');
  });

  it('answers another event 202, saying it is ignored, and fetches nothing', async () => {
    const one = await replica(cdn, legacy);
    proxies.push(one);
    cdn.publish([{ key: 'catalog_flag', everyoneElse: 'live' }], 2);
    const fetched = cdn.fetches;
    const body = '{"project_id": 20000, "timestamp": 1765065600, "event": "project.audience_updated", "data": {}}';
    const response = await webhook(one, body, sign(body));
    assert.deepEqual([response.status, await response.json()], [202, { ignored: 'the event is "project.audience_updated", not project.datafile_updated: nothing was done' }]);
    assert.equal(cdn.fetches, fetched);
    assert.equal((await decided(one)).stage, 'legacy');
    assert.equal(sample(await one.metrics(), 'cutover_webhooks_total', { outcome: 'ignored' }), 1);
  });

  it('refuses every webhook when no secret is configured (404, one line), even a signed one', async () => {
    const one = await replica(cdn, legacy, { secret: false });
    proxies.push(one);
    cdn.publish([{ key: 'catalog_flag', everyoneElse: 'live' }], 2);
    const fetched = cdn.fetches;
    for (const signature of [undefined, sign(PUBLISHED)]) {
      const response = await webhook(one, PUBLISHED, signature);
      assert.equal(response.status, 404);
      assert.equal(await detailOf(response), 'no webhook secret is configured (flags.webhookSecretEnv names the environment variable that holds it), so webhooks are refused');
    }
    assert.equal(cdn.fetches, fetched);
    assert.equal((await decided(one)).stage, 'legacy');
  });

  for (const kind of databaseKinds()) {
    // NOTIFY reaches other connections only on a PostgreSQL server: embedded Postgres (PGlite)
    // belongs to one proxy, which hears its own announcement and ignores it.
    if (kind === 'server') {
      describe('on a PostgreSQL server shared by two replicas', () => {
        let database: TestDatabase;
        before(async () => { database = await openTestDatabase('server'); });
        after(async () => { await database?.close(); });

        it('a signed webhook to one replica makes both obey the published datafile within 5 s, polling minutes away', async () => {
          const one = await replica(cdn, legacy, { store: { url: database.url } });
          proxies.push(one);
          const two = await replica(cdn, legacy, { store: { url: database.url } });
          proxies.push(two);
          for (const proxy of [one, two]) {
            await untilReady(proxy.proxy.adminUrl);
            await until(() => proxy.logs.some((line) => line.includes('flags: listening for datafile notices')), 'the replica listening for datafile notices');
          }
          cdn.publish([{ key: 'catalog_flag', everyoneElse: 'live' }], 2);

          const refused = await webhook(one, PUBLISHED, sign(PUBLISHED, 'another-secret-0123456789'));
          assert.equal(refused.status, 401);
          const accepted = await webhook(one, PUBLISHED, sign(PUBLISHED));
          assert.deepEqual([accepted.status, await accepted.json()], [200, { fetched: true, announced: true }]);
          assert.equal((await decided(one)).stage, 'live');
          await until(async () => (await decided(two)).stage === 'live', 'the other replica to obey the published datafile through NOTIFY', 5_000);
          // Served by it too, not only looked up.
          assert.equal(await (await fetch(`${two.proxy.trafficUrl}/products`, { headers: { 'x-customer-id': 'alice' } })).text(), 'new');
          assert.equal(sample(await two.metrics(), 'cutover_webhooks_total', { outcome: 'fetched' }), 0, 'replica two heard no webhook itself');
        });
      });
    } else {
      describe('on embedded Postgres', () => {
        it('a signed webhook makes the replica fetch at once, and it announces the datafile through its own store', async () => {
          const one = await replica(cdn, legacy, { store: { enabled: true } });
          proxies.push(one);
          await untilReady(one.proxy.adminUrl, 'the embedded store open', 60_000);
          cdn.publish([{ key: 'catalog_flag', everyoneElse: 'live' }], 2);
          const fetched = cdn.fetches;
          const accepted = await webhook(one, PUBLISHED, sign(PUBLISHED));
          assert.deepEqual([accepted.status, await accepted.json()], [200, { fetched: true, announced: true }]);
          assert.equal((await decided(one)).stage, 'live');
          assert.equal(cdn.fetches, fetched + 1);
        });
      });
    }
  }
});
