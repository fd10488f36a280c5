import assert from 'node:assert/strict';
import http from 'node:http';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';

interface Answer { readonly status: number; readonly body: string }

/** A request to the admin port with a Host of our choosing (fetch sets its own). */
function ask(adminUrl: string, path: string, host: string, init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(adminUrl, { method: init.method ?? 'GET', path, headers: { ...init.headers, host } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

// The store is there so that a parameter could reach the database, as it did: embedded Postgres.
describe('the admin port against hostile callers', function () {
  this.timeout(60_000);
  let legacy: TestServer;
  let database: TestDatabase;
  let s: TestProxy;
  let port: string;

  before(async () => {
    database = await openTestDatabase('embedded');
    legacy = await listen((_req, res) => res.end('{}'));
    s = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async () => ({ statusCode: 200, body: '{}' }) } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
      extra: {
        admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN, allowedHosts: ['cutover-admin.internal'] },
        store: { url: database.url, queue: { flushMs: 25 } },
      },
    });
    port = new URL(s.proxy.adminUrl).port;
    await untilReady(s.proxy.adminUrl);
  });

  after(async () => {
    await s?.close();
    await legacy?.close();
    await database?.close();
  });

  describe('Host (DNS rebinding)', () => {
    for (const host of ['evil.example', 'evil.example:9901', 'localhost.evil.example', '127.0.0.1.evil.example', 'cutover-admin.internal.evil.example']) {
      it(`answers 421 with one line for Host: ${host}, on every endpoint, and changes nothing`, async () => {
        for (const path of ['/api/groups', '/api/diffs', '/metrics', '/healthz', '/', '/api/overrides']) {
          const answer = await ask(s.proxy.adminUrl, path, host);
          assert.equal(answer.status, 421, path);
          const { error } = JSON.parse(answer.body) as { error: string };
          assert.match(error, /^the admin port answers only for its own host names, not ".*": add the name to admin\.allowedHosts/, path);
          assert.doesNotMatch(error, /\n/);
        }
        const put = await ask(s.proxy.adminUrl, '/api/overrides/catalog', host, {
          method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"stage":"legacy"}',
        });
        assert.equal(put.status, 421);
        const overrides = JSON.parse((await ask(s.proxy.adminUrl, '/api/overrides', `127.0.0.1:${port}`)).body) as { overrides: Record<string, string> };
        assert.deepEqual(overrides.overrides, {}, 'nothing was changed');
      });
    }

    // Loopback (Prometheus and the collector scrape localhost), an address (the ALB's health check
    // sends the task's IP; a rebinding page can only send its own name) and the configured names.
    for (const host of ['localhost', '127.0.0.1', '[::1]', 'app.localhost', '10.0.3.17', '[fd00::17]', 'cutover-admin.internal', 'CUTOVER-ADMIN.internal.']) {
      it(`answers for Host: ${host} (with and without the port)`, async () => {
        for (const withPort of [host, `${host}:${port}`]) {
          assert.equal((await ask(s.proxy.adminUrl, '/healthz', withPort)).status, 200, withPort);
          assert.equal((await ask(s.proxy.adminUrl, '/api/diffs', withPort)).status, 200, withPort);
        }
      });
    }
  });

  describe('query parameters of the review API', () => {
    const absurd: Array<[string, string]> = [
      ['/api/diffs?since=99999999999999999999d', 'since'],
      ['/api/diffs?since=1000000d', 'since'],
      ['/api/groups?window=100000000d', 'window'],
      ['/api/diffs?cursor=99999999999999999999', 'cursor'],
      ['/api/diffs?cursor=9999999999999999999', 'cursor'],
      ['/api/diffs/9999999999999999999', 'id'],
      ['/api/diffs?field=%00', 'field'],
      ['/api/diffs?route=GET%20/a%00b', 'route'],
      ['/api/fields?route=%00', 'route'],
      ['/api/diffs?group=%00', 'group'],
      ['/api/diffs?verdict=%00', 'verdict'],
      ['/api/diffs?limit=1e3', 'limit'],
      ['/api/diffs?field=a&field=b', 'field'],
      [`/api/diffs?field=${'x'.repeat(5_000)}`, 'field'],
    ];
    for (const [path, parameter] of absurd) {
      it(`answers 400 naming "${parameter}" for ${path.slice(0, 60)}, never a database message`, async () => {
        const answer = await ask(s.proxy.adminUrl, path, '127.0.0.1');
        assert.equal(answer.status, 400, answer.body);
        const { error } = JSON.parse(answer.body) as { error: string };
        assert.match(error, new RegExp(`\\b${parameter}\\b`), `the line names the parameter`);
        assert.doesNotMatch(error, /\n|syntax|bigint|out of range|invalid byte sequence|interval|0x00/);
      });
    }

    it('still answers sensible values', async () => {
      for (const path of ['/api/diffs?since=7d&limit=500&cursor=9223372036854775807&field=%2Fprice&route=GET%20%2Fprice&group=catalog&verdict=mismatch', '/api/groups?window=365d', '/api/fields?group=catalog&route=GET%20%2Fprice']) {
        const answer = await ask(s.proxy.adminUrl, path, '127.0.0.1');
        assert.equal(answer.status, 200, `${path}: ${answer.body}`);
      }
    });
  });
});
