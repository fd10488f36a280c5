import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, raw, type TestServer } from './support/servers.js';

interface Seen { headers: http.IncomingHttpHeaders; bytes: number }

describe('the legacy backend and HTTP correctness', function () {
  this.timeout(20_000);
  let legacy: TestServer;
  let stack: TestProxy;
  const seen: Seen[] = [];

  before(async () => {
    legacy = await listen((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      req.on('end', () => {
        seen.push({ headers: req.headers, bytes });
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'keep-alive': 'timeout=5', 'x-end': 'kept' });
        res.end(`legacy ${req.method} ${req.url} ${bytes}`);
      });
    });
    stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {},
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'legacy' }],
      extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 0, trustForwarded: true } },
    });
  });

  after(async () => {
    await stack?.close();
    await legacy?.close();
  });

  beforeEach(() => { seen.length = 0; });

  it('does not forward hop-by-hop headers either way, nor those named in Connection', async () => {
    const answer = await raw(stack.proxy.trafficUrl, 'GET /products HTTP/1.1\r\nHost: shop.example\r\nConnection: close, x-client-hop\r\nX-Client-Hop: 1\r\nKeep-Alive: timeout=9\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Authorization: Basic eA==\r\nX-Kept: yes\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200/);
    const headers = seen[0]?.headers ?? {};
    for (const name of ['x-client-hop', 'keep-alive', 'te', 'upgrade', 'proxy-authorization']) assert.equal(headers[name], undefined, name);
    assert.equal(headers['x-kept'], 'yes');
    assert.doesNotMatch(answer, /x-hop/i);
    assert.doesNotMatch(answer, /keep-alive: timeout=5/i);
    assert.match(answer, /x-end: kept/i);
  });

  it('keeps the client\'s Host and its framing when Connection names them: they are never one hop\'s', async () => {
    const answer = await raw(stack.proxy.trafficUrl, 'POST /products HTTP/1.1\r\nHost: shop.example\r\nConnection: close, host, content-length\r\nContent-Length: 5\r\n\r\nhello');
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /legacy POST \/products 5\r\n/);
    assert.equal(seen[0]?.headers.host, 'shop.example');
    assert.equal(seen[0]?.headers['x-forwarded-host'], 'shop.example');
  });

  it('refuses a Host with userinfo (400, one line naming Host), and forwards nothing', async () => {
    const answer = await raw(stack.proxy.trafficUrl, 'GET /products HTTP/1.1\r\nHost: user:secret@shop.example\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(answer, /"code":"bad_host".*"detail":"[^"]*Host[^"]*"/);
    assert.deepEqual(seen, []);
  });

  it('keeps idle client connections longer than a load balancer\'s 60 s, so the balancer closes them first', async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
        http.get(`${stack.proxy.trafficUrl}/products`, { agent }, (res) => res.resume().on('end', () => resolve(res.headers))).on('error', reject);
      });
      assert.equal(headers.connection, 'keep-alive');
      assert.equal(headers['keep-alive'], 'timeout=65');
    } finally {
      agent.destroy();
    }
  });

  it('sets X-Forwarded-For, -Proto and -Host, appending to a chain a balancer started', async () => {
    await (await fetch(`${stack.proxy.trafficUrl}/products`, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' } })).text();
    await (await fetch(`${stack.proxy.trafficUrl}/products`)).text();
    const [chained, direct] = seen;
    assert.equal(chained?.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(chained?.headers['x-forwarded-proto'], 'https');
    assert.equal(direct?.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(direct?.headers['x-forwarded-proto'], 'http');
    assert.equal(direct?.headers['x-forwarded-host'], new URL(stack.proxy.trafficUrl).host);
  });

  it('keeps a well-formed x-request-id, mints one otherwise, and passes it on', async () => {
    await (await fetch(`${stack.proxy.trafficUrl}/products`, { headers: { 'x-request-id': 'abc-12345678' } })).text();
    await (await fetch(`${stack.proxy.trafficUrl}/products`, { headers: { 'x-request-id': 'bad id with spaces' } })).text();
    assert.equal(seen[0]?.headers['x-request-id'], 'abc-12345678');
    assert.match(String(seen[1]?.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('streams a large request body to legacy', async () => {
    const body = Buffer.alloc(20 * 1024 * 1024, 1);
    const response = await fetch(`${stack.proxy.trafficUrl}/upload`, { method: 'POST', body });
    assert.equal(await response.text(), `legacy POST /upload ${body.length}`);
  });
});

describe('graceful shutdown', function () {
  this.timeout(20_000);

  it('stops accepting, and finishes the request in flight', async () => {
    const legacy = await listen((_req, res) => { setTimeout(() => res.end('finished'), 300); });
    const stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {},
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'legacy' }],
    });
    try {
      const inFlight = fetch(`${stack.proxy.trafficUrl}/products`).then(async (response) => [response.status, await response.text()]);
      await sleep(100);
      const closing = stack.close();
      await sleep(20);
      await assert.rejects(fetch(`${stack.proxy.trafficUrl}/products`), 'no new connections once closing');
      assert.deepEqual(await inFlight, [200, 'finished']);
      await closing;
    } finally {
      await legacy.close();
    }
  });
});
