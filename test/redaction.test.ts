import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import pg from 'pg';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * Secrets a client sends and the sides answer, with no `store.redact` configured at all: the
 * defaults alone must keep every one of them out of the store and out of what a reviewer reads.
 */
const SECRETS = {
  queryToken: 'qtok-51a7e0',
  queryApiKey: 'qkey-8d2c41',
  jsonPassword: 'jpw-hunter2-77',
  jsonCardNumber: '4111111111111111',
  formPassword: 'fpw-swordfish-31',
  formClientSecret: 'fcs-6e9b02',
  legacyCookie: 'sid=legacy-c00k1e',
  newCookie: 'sid=new-c00k1e',
  legacyAuthToken: 'lat-2f4e6a',
  newAuthToken: 'nat-9c7b5d',
  legacyPassword: 'lpw-3b1d9f',
  newPassword: 'npw-0a8e2c',
  legacyMetaKey: 'lmk-71c3aa',
  newMetaKey: 'nmk-4e0f19',
};

/** Values next to the secrets that are not secret: they must be stored, or the search above proves nothing. */
const VISIBLE = { query: 'rope-toy-visible', label: 'label-visible-12', remember: 'remember-visible-34', name: 'Alice Visible' };

/** What each side answers: the same shape, every secret different, so that each is a difference. */
const answer = (side: 'legacy' | 'new') => ({
  cookie: side === 'legacy' ? SECRETS.legacyCookie : SECRETS.newCookie,
  authToken: side === 'legacy' ? SECRETS.legacyAuthToken : SECRETS.newAuthToken,
  body: JSON.stringify({
    user: { name: VISIBLE.name, Password: side === 'legacy' ? SECRETS.legacyPassword : SECRETS.newPassword },
    meta: { apiKey: side === 'legacy' ? SECRETS.legacyMetaKey : SECRETS.newMetaKey },
  }),
});

interface Diff {
  request: { query: string; body: { body: unknown } };
  differences: Array<{ path: string; legacy: unknown; new: unknown }>;
  hidden: Array<{ path: string; rule: string }>;
  replay: { legacy: string; new: string; caveats: string[] };
}

for (const kind of databaseKinds()) {
  describe(`redaction by default, in the store and the review API (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let legacy: TestServer;
    let database: TestDatabase;
    let s: TestProxy;
    const legacyHeaders: IncomingHttpHeaders[] = [];

    const functions: Record<string, HostedFunction> = {
      accounts: {
        handler: async (_event: APIGatewayProxyEventV2) => {
          const { cookie, authToken, body } = answer('new');
          return { statusCode: 200, headers: { 'content-type': 'application/json', 'x-auth-token': authToken }, cookies: [cookie], body };
        },
      },
    };

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((req, res) => {
        legacyHeaders.push(req.headers);
        req.resume().on('end', () => {
          const { cookie, authToken, body } = answer('legacy');
          res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': cookie, 'x-auth-token': authToken });
          res.end(body);
        });
      });
      s = await startTestProxy({
        legacyUrl: legacy.url, functions,
        groups: {
          accounts: {
            flag: 'accounts_flag', function: 'accounts', routes: ['GET /search', 'POST /login', 'POST /signup'],
            shadow: { writes: 'dry-run' },
            rules: { headers: ['set-cookie', 'x-auth-token', 'content-type'], ignore: ['/meta'] },
          },
        },
        flags: [{ key: 'accounts_flag', everyoneElse: 'shadow' }],
        extra: { store: { url: database.url, sample: { match: 100 }, queue: { flushMs: 25 } } },
      });
      await untilReady(s.proxy.adminUrl);
    });

    after(async () => {
      await s?.close();
      await legacy?.close();
      await database?.close();
    });

    const send = async (target: string, init: RequestInit = {}): Promise<string> => {
      const response = await fetch(`${s.proxy.trafficUrl}${target}`, { ...init, headers: { 'x-customer-id': 'c-1', ...init.headers } });
      await response.arrayBuffer();
      assert.equal(response.status, 200);
      return response.headers.get('x-request-id') ?? '';
    };
    const api = async (path: string) => (await fetch(`${s.proxy.adminUrl}${path}`)).json() as Promise<Record<string, unknown>>;

    it('keeps secrets in query strings, JSON and form bodies, compared headers and hidden differences out of the store, the API and the replays', async () => {
      const ids = [
        await send(`/search?token=${SECRETS.queryToken}&API_KEY=${SECRETS.queryApiKey}&q=${VISIBLE.query}`),
        await send('/login', {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: SECRETS.jsonPassword, profile: { payments: [{ label: VISIBLE.label, card_number: SECRETS.jsonCardNumber }] } }),
        }),
        await send('/signup', {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `username=alice&password=${SECRETS.formPassword}&Client-Secret=${SECRETS.formClientSecret}&remember=${VISIBLE.remember}`,
        }),
      ];
      assert.equal(legacyHeaders.length, 3, 'legacy got all three requests as sent');
      const listed = async () => ((await api('/api/diffs?group=accounts&limit=50')).diffs as Array<{ id: string; requestId: string }>);
      await until(async () => {
        const stored = await listed();
        return ids.every((id) => stored.some((diff) => diff.requestId === id));
      }, 'the three comparisons stored');
      const diffs = await listed();
      const views = await Promise.all(ids.map((id) => api(`/api/diffs/${diffs.find((diff) => diff.requestId === id)?.id}`)));

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      let rows: string[];
      try {
        rows = (await client.query<{ text: string }>('SELECT c::text AS text FROM cutover_comparisons c')).rows.map((row) => row.text);
      } finally {
        await client.end();
      }
      assert.equal(rows.length, 3);
      const everything = JSON.stringify({ rows, views, diffs });
      assert.deepEqual(Object.entries(SECRETS).filter(([, secret]) => everything.includes(secret)).map(([name]) => name), [], 'secrets stored or shown');
      assert.deepEqual(Object.entries(VISIBLE).filter(([, value]) => !everything.includes(value)).map(([name]) => name), [], 'values that are no secret, missing');

      const [search, login, signup] = views as unknown as Diff[];
      // Each secret is a difference the reviewer still sees as one, named, with its values taken out.
      const differences = Object.fromEntries((search?.differences ?? []).map((difference) => [difference.path, [difference.legacy, difference.new]]));
      assert.deepEqual(differences, { '/headers/set-cookie': ['[redacted]', '[redacted]'], '/headers/x-auth-token': ['[redacted]', '[redacted]'], '/user/Password': ['[redacted]', '[redacted]'] });
      assert.deepEqual(search?.hidden.map((hidden) => [hidden.path, hidden.rule]), [['/meta/apiKey', 'ignore: /meta']]);
      assert.equal(search?.request.query, `token=[redacted]&API_KEY=[redacted]&q=${VISIBLE.query}`);
      assert.deepEqual(login?.request.body.body, { username: 'alice', password: '[redacted]', profile: { payments: [{ label: VISIBLE.label, card_number: '[redacted]' }] } });
      assert.equal(signup?.request.body.body, `username=alice&password=[redacted]&Client-Secret=[redacted]&remember=${VISIBLE.remember}`);

      // A replay sends what was stored: it says what it lacks rather than send [redacted] silently.
      assert.ok(search?.replay.caveats.includes('query parameters were redacted'), JSON.stringify(search?.replay.caveats));
      assert.ok(login?.replay.caveats.includes('members of the request body were redacted'), JSON.stringify(login?.replay.caveats));
      assert.ok(signup?.replay.caveats.includes('members of the request body were redacted'), JSON.stringify(signup?.replay.caveats));
    });
  });
}
