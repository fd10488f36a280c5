import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { ConfigError, parseConfig } from '../proxy/config/config.js';
import { sample, sampleAll } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, raw, type TestServer } from './support/servers.js';
import { gate, until } from './support/until.js';

/** One request as the legacy server's own parser saw it: a smuggled request shows up as a hit of its own. */
interface Hit { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }

/** A chunked body holding one chunk. */
const chunked = (payload: string) => `${Buffer.byteLength(payload).toString(16)}\r\n${payload}\r\n0\r\n\r\n`;

const SMUGGLED = 'POST /orders HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 0\r\n\r\n';

const jsonApi = { 'content-type': 'application/vnd.api+json' };

describe('the request path, tried by an attacker', function () {
  this.timeout(30_000);
  const hits: Hit[] = [];
  const events: APIGatewayProxyEventV2[] = [];
  let legacy: TestServer;
  let stacks: TestProxy[] = [];

  const functions: Record<string, HostedFunction> = {
    catalog: {
      handler: async (event: APIGatewayProxyEventV2) => {
        events.push(event);
        return { statusCode: 200, headers: jsonApi, body: JSON.stringify({ data: { type: 'products', id: event.pathParameters?.id ?? 'list' } }) };
      },
    },
    orders: {
      handler: async (event: APIGatewayProxyEventV2) => {
        events.push(event);
        return { statusCode: 201, headers: jsonApi, body: JSON.stringify({ data: { type: 'orders', id: '1', attributes: { bytes: Buffer.byteLength(event.body ?? '') } } }) };
      },
    },
  };

  before(async () => {
    legacy = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const url = req.url ?? '';
        if (url.includes('pause-body')) {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part-');
          setTimeout(() => res.end('rest'), 600);
          return;
        }
        if (url.includes('slow')) {
          setTimeout(() => res.end(JSON.stringify({ data: { type: 'products', id: 'list' } })), 200);
          return;
        }
        res.writeHead(req.method === 'POST' ? 201 : 200, jsonApi);
        res.end(JSON.stringify({ data: { type: 'legacy', id: `${req.method} ${url}`, attributes: { bytes: body.length } } }));
      });
    });
  });

  afterEach(async () => {
    for (const stack of stacks) await stack.close();
    stacks = [];
    hits.length = 0;
    events.length = 0;
  });

  after(async () => {
    await legacy?.close();
  });

  const catalog = (extra: Record<string, unknown> = {}) => ({ flag: 'catalog_flag', function: 'catalog', routes: ['GET /products', 'GET /products/{id}', 'GET /categories'], fallback: false, ...extra });
  const orders = (extra: Record<string, unknown> = {}) => ({ flag: 'orders_flag', function: 'orders', routes: ['POST /orders', 'GET /orders/{id}'], fallback: false, ...extra });

  async function stack(stages: { catalog?: string; orders?: string }, options: { groups?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Promise<TestProxy> {
    const started = await startTestProxy({
      legacyUrl: legacy.url,
      functions,
      groups: options.groups ?? { catalog: catalog(), orders: orders() },
      flags: [{ key: 'catalog_flag', everyoneElse: (stages.catalog ?? 'legacy') as 'legacy' }, { key: 'orders_flag', everyoneElse: (stages.orders ?? 'legacy') as 'legacy' }],
      ...(options.extra ? { extra: options.extra } : {}),
    });
    stacks.push(started);
    return started;
  }

  /** Sends one more request through the proxy, so that anything left on a pooled legacy connection is read. */
  async function flush(s: TestProxy): Promise<void> {
    await (await fetch(`${s.proxy.trafficUrl}/after`)).arrayBuffer();
  }

  describe('framing', () => {
    it('keeps a chunked GET body framed, so it cannot become a request of its own on legacy', async () => {
      const s = await stack({});
      const answer = await raw(s.proxy.trafficUrl, `GET /products/ HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked(SMUGGLED)}`);
      await flush(s);
      assert.deepEqual(hits.map((hit) => `${hit.method} ${hit.url}`), ['GET /products/', 'GET /after'], answer);
      assert.equal(hits[0]?.body.toString(), SMUGGLED, 'the body arrives whole, as a body');
    });

    it('keeps a chunked DELETE body framed, where a Content-Length: 0 would let it through as a request', async () => {
      const s = await stack({});
      await raw(s.proxy.trafficUrl, `DELETE /anything HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked(SMUGGLED)}`);
      await flush(s);
      assert.deepEqual(hits.map((hit) => `${hit.method} ${hit.url}`), ['DELETE /anything', 'GET /after']);
      assert.equal(hits[0]?.body.length, Buffer.byteLength(SMUGGLED));
    });

    it('re-frames a body whose Content-Length the Connection header names as hop-by-hop', async () => {
      const s = await stack({});
      await raw(s.proxy.trafficUrl, `GET /products/ HTTP/1.1\r\nHost: shop.example\r\nConnection: close, content-length\r\nContent-Length: ${Buffer.byteLength(SMUGGLED)}\r\n\r\n${SMUGGLED}`);
      await flush(s);
      assert.deepEqual(hits.map((hit) => `${hit.method} ${hit.url}`), ['GET /products/', 'GET /after']);
      assert.equal(hits[0]?.headers['content-length'], String(Buffer.byteLength(SMUGGLED)));
    });

    it('brings a chunked body of a mirrored write to both sides whole', async () => {
      const s = await stack({ orders: 'shadow' }, { groups: { catalog: catalog(), orders: orders({ shadow: { writes: 'dry-run' } }) } });
      const body = JSON.stringify({ data: { type: 'orders', attributes: { customer: 'c1' } } });
      const answer = await raw(s.proxy.trafficUrl, `POST /orders HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/vnd.api+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked(body)}`);
      assert.match(answer, /^HTTP\/1\.1 201/);
      assert.equal(hits[0]?.body.toString(), body);
      await until(() => events.length === 1, 'the shadow invocation');
      assert.equal(events[0]?.body, body);
      assert.equal(events[0]?.headers['x-cutover-shadow'], '1');
    });
  });

  describe('the shadow marker', () => {
    it('strips a client\'s own x-cutover-shadow before legacy sees the request', async () => {
      const s = await stack({});
      await (await fetch(`${s.proxy.trafficUrl}/products/1`, { headers: { 'x-cutover-shadow': '1' } })).arrayBuffer();
      await (await fetch(`${s.proxy.trafficUrl}/unrouted`, { headers: { 'x-cutover-shadow': '1' } })).arrayBuffer();
      assert.equal(hits.length, 2);
      for (const hit of hits) assert.equal(hit.headers['x-cutover-shadow'], undefined, hit.url);
    });

    it('strips it before the new side sees the request', async () => {
      const s = await stack({ orders: 'complete' });
      const response = await fetch(`${s.proxy.trafficUrl}/orders`, { method: 'POST', headers: { 'x-cutover-shadow': '1', ...jsonApi }, body: '{"data":{}}' });
      assert.equal(response.status, 201);
      assert.equal(events.length, 1);
      assert.equal(events[0]?.headers['x-cutover-shadow'], undefined);
    });
  });

  describe('timeouts', () => {
    it('lets a response that pauses mid-body finish: timeoutMs is the time to headers', async () => {
      const s = await stack({}, { extra: { legacy: { url: legacy.url, timeoutMs: 300 } } });
      const response = await fetch(`${s.proxy.trafficUrl}/pause-body`);
      assert.equal(await response.text(), 'part-rest');
    });
  });

  describe('paths', () => {
    const routing = { routing: { caseSensitive: false, trailingSlash: 'optional' } };

    it('forwards the path and query byte for byte', async () => {
      const s = await stack({});
      for (const target of ['//products/1001', '/a/../b', '/x%2Fy?q=a//b&r=%20', '/products/1001?sort=-price']) {
        await raw(s.proxy.trafficUrl, `GET ${target} HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n`);
      }
      assert.deepEqual(hits.map((hit) => hit.url), ['//products/1001', '/a/../b', '/x%2Fy?q=a//b&r=%20', '/products/1001?sort=-price']);
    });

    it('routes letter case and a trailing slash as a case-insensitive, slash-tolerant legacy would', async () => {
      const s = await stack({ catalog: 'complete' }, { extra: routing });
      for (const target of ['/PRODUCTS/1001', '/products/1001/', '/Categories']) {
        const response = await fetch(`${s.proxy.trafficUrl}${target}`);
        assert.equal(response.status, 200, target);
      }
      assert.deepEqual(events.map((event) => [event.rawPath, event.routeKey]), [['/PRODUCTS/1001', 'GET /products/{id}'], ['/products/1001/', 'GET /products/{id}'], ['/Categories', 'GET /categories']]);
      assert.equal(hits.length, 0, 'none of them bypassed the stage to legacy');
    });

    it('leaves repeated slashes to legacy, which does not merge them', async () => {
      const s = await stack({ catalog: 'complete' }, { extra: routing });
      await (await fetch(`${s.proxy.trafficUrl}//products/1001`)).arrayBuffer();
      assert.deepEqual(hits.map((hit) => hit.url), ['//products/1001']);
      assert.equal(sample(await s.metrics(), 'cutover_requests_total', { group: 'unmatched', status_class: '2xx' }), 1);
    });

    it('keeps the strict route table by default', async () => {
      const s = await stack({ catalog: 'complete' });
      await (await fetch(`${s.proxy.trafficUrl}/PRODUCTS/1001`)).arrayBuffer();
      assert.equal(events.length, 0);
      assert.deepEqual(hits.map((hit) => hit.url), ['/PRODUCTS/1001']);
    });
  });

  describe('headers', () => {
    it('sets x-request-id on every response: legacy\'s, the new side\'s and the proxy\'s own', async () => {
      const s = await stack({ orders: 'complete' });
      const fromLegacy = await fetch(`${s.proxy.trafficUrl}/products/1`, { headers: { 'x-request-id': 'legacy-req-0001' } });
      const fromNew = await fetch(`${s.proxy.trafficUrl}/orders/1`, { headers: { 'x-request-id': 'new-req-00001' } });
      const refused = await raw(s.proxy.trafficUrl, 'GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
      assert.equal(fromLegacy.headers.get('x-request-id'), 'legacy-req-0001');
      assert.equal(fromNew.headers.get('x-request-id'), 'new-req-00001');
      assert.match(refused, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    });

    it('names a new caller with a cookie on legacy\'s and the new side\'s answers, and a returning one keeps its id', async () => {
      const s = await stack({ orders: 'complete' });
      for (const path of ['/products/1', '/orders/1']) {
        const first = await fetch(`${s.proxy.trafficUrl}${path}`);
        await first.arrayBuffer();
        const cookie = first.headers.get('set-cookie') ?? '';
        assert.match(cookie, /^cutover_caller=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/, `${path}: the new caller is named`);
        const again = await fetch(`${s.proxy.trafficUrl}${path}`, { headers: { cookie: cookie.split(';')[0] as string } });
        await again.arrayBuffer();
        assert.equal(again.headers.get('set-cookie'), null, `${path}: the returning caller keeps its id`);
      }
    });

    it('keeps a valid caller cookie when the caller header is invalid', async () => {
      const s = await stack({});
      const response = await fetch(`${s.proxy.trafficUrl}/products/1`, { headers: { 'x-customer-id': 'not valid!', cookie: 'cutover_caller=known-caller' } });
      assert.equal(response.headers.get('set-cookie'), null, 'the caller keeps its id, so no new one is assigned');
    });

    it('refuses an admin token from the environment shorter than 16 characters, as it does in the file', () => {
      const document = { legacy: { url: 'http://127.0.0.1:1' }, flags: { datafile: 'x.json' }, groups: { catalog: catalog() } };
      assert.throws(() => parseConfig(document, '/', { CUTOVER_ADMIN_TOKEN: 'x' }), (error: unknown) => error instanceof ConfigError && /CUTOVER_ADMIN_TOKEN.*16/.test(error.message));
    });
  });

  describe('logs', () => {
    it('writes one JSON access line per request, with the request id and the secrets redacted', async () => {
      const s = await stack({});
      await (await fetch(`${s.proxy.trafficUrl}/products/1`, { headers: { 'x-request-id': 'logged-req-0001', authorization: 'Bearer sesame-secret', cookie: 'session=cookie-secret' } })).arrayBuffer();
      await until(() => s.logs.some((line) => line.includes('logged-req-0001')), 'the access line');
      const lines = s.logs.filter((line) => line.includes('logged-req-0001')).map((line) => JSON.parse(line) as Record<string, unknown>);
      const access = lines.find((line) => line.msg === 'request');
      assert.ok(access, s.logs.join('\n'));
      assert.equal(access.requestId, 'logged-req-0001');
      assert.equal(access.group, 'catalog');
      assert.equal(access.route, 'GET /products/{id}');
      assert.equal(access.stage, 'legacy');
      assert.equal(access.servedBy, 'legacy');
      assert.equal(access.status, 200);
      assert.equal(typeof access.primaryMs, 'number');
      for (const line of s.logs) assert.doesNotMatch(line, /sesame-secret|cookie-secret/);
    });
  });

  describe('shutdown', () => {
    it('announces Connection: close on responses once shutdown begins, so no client reuses a closing connection', async () => {
      const s = await stack({});
      const agent = new http.Agent({ keepAlive: true });
      try {
        const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
          http.get(`${s.proxy.trafficUrl}/products/slow`, { agent }, resolve).on('error', reject);
        });
        await until(() => hits.length === 1, 'legacy to receive the request');
        const closing = s.proxy.close(5_000);
        const response = await answered;
        response.resume();
        assert.equal(response.headers.connection, 'close');
        await closing;
      } finally {
        agent.destroy();
      }
    });

    it('still answers a request sent on a connection that was idle when shutdown began, within the grace', async () => {
      const s = await stack({}, { extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 5_000 } } });
      const socket = net.connect(Number(new URL(s.proxy.trafficUrl).port), '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
      socket.write('GET /products/1 HTTP/1.1\r\nHost: shop.example\r\n\r\n');
      await until(() => received.endsWith('\r\n0\r\n\r\n'), 'the first (chunked) answer');
      const closing = s.proxy.close(10_000);
      received = '';
      socket.write('GET /products/2 HTTP/1.1\r\nHost: shop.example\r\n\r\n');
      await once(socket, 'close');
      await closing;
      assert.match(received, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(received, /\r\nconnection: close\r\n/i);
    });

    it('answers every pipelined request it forwards once shutdown has begun, and forwards none it will not answer', async () => {
      const s = await stack({}, { extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 5_000 } } });
      const socket = net.connect(Number(new URL(s.proxy.trafficUrl).port), '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
      const closing = s.proxy.close(10_000);
      const post = (n: number) => `POST /orders?n=${n} HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 2\r\n\r\n{}`;
      socket.write([1, 2, 3].map(post).join(''));
      await once(socket, 'close');
      await closing;
      const answered = received.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
      const forwarded = hits.filter((hit) => hit.url.startsWith('/orders'));
      assert.ok(answered.length > 0, `some answer came: ${received}`);
      assert.equal(forwarded.length, received.match(/^HTTP\/1\.1 201/gm)?.length ?? 0, `legacy ran ${forwarded.length} (${forwarded.map((hit) => hit.url).join(', ')}), the client got: ${answered.join(', ')}`);
      assert.match(received, /\r\nconnection: close\r\n(?![\s\S]*HTTP\/1\.1)/i, 'the last answer closes the connection');
    });

  });
});

describe('pauses that are not failures, pooled connections, a client\'s forwarded headers', function () {
  this.timeout(30_000);
  let stacks: TestProxy[] = [];
  const upstreams: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const s of stacks) await s.close();
    for (const upstream of upstreams.splice(0)) await upstream.close();
    stacks = [];
  });

  async function stack(legacyUrl: string, extra?: Record<string, unknown>): Promise<TestProxy> {
    const s = await startTestProxy({
      legacyUrl,
      functions: {},
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}', 'POST /products'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'legacy' }],
      ...(extra ? { extra } : {}),
    });
    stacks.push(s);
    return s;
  }
  async function upstream<T extends { close(): unknown }>(server: Promise<T>): Promise<T> {
    const started = await server;
    upstreams.push(started);
    return started;
  }

  it('gives a slow reader the whole of a large response: its own pause is not legacy stalling', async () => {
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const legacy = await upstream(listen((req, res) => { req.resume(); res.writeHead(200, { 'content-length': big.length }); res.end(big); }));
    const s = await stack(legacy.url, { legacy: { url: legacy.url, timeoutMs: 1_000, idleTimeoutMs: 300 } });
    const received = await new Promise<number>((resolve, reject) => {
      http.get(`${s.proxy.trafficUrl}/big`, (response) => {
        let bytes = 0;
        response.pause();
        setTimeout(() => response.on('data', (chunk: Buffer) => { bytes += chunk.length; }).resume(), 1_000);
        response.on('end', () => resolve(bytes));
        response.on('error', reject);
      }).on('error', reject);
    });
    assert.equal(received, big.length);
    assert.equal(sampleAll(await s.metrics(), 'cutover_upstream_errors_total', {}), 0);
  });

  it('at shutdown, refuses unforwarded a request sent behind an answer that closes its connection', async () => {
    const seen: string[] = [];
    const answering = gate();
    let finish: () => void = () => undefined;
    const finishing = new Promise<void>((resolve) => { finish = resolve; });
    const legacy = await upstream(listen((req, res) => {
      seen.push(req.url ?? '');
      void answering.passed.then(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part-');
        return finishing;
      }).then(() => res.end('rest'));
    }));
    const s = await stack(legacy.url, { traffic: { host: '127.0.0.1', port: 0, drainMs: 5_000 } });
    const socket = net.connect(Number(new URL(s.proxy.trafficUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
    socket.write('GET /first HTTP/1.1\r\nHost: shop.example\r\n\r\n');
    await until(() => seen.length === 1, 'legacy to hold the first request');
    const closing = s.proxy.close(10_000);
    answering.open();
    await until(() => received.includes('part-'), 'the first answer under way, saying Connection: close');
    socket.write('GET /second HTTP/1.1\r\nHost: shop.example\r\n\r\n');
    await until(() => seen.length > 1 || s.logs.some((line) => line.includes('refused, not forwarded')), 'the second request forwarded or refused');
    finish();
    await once(socket, 'close');
    await closing;
    assert.match(received, /\r\nconnection: close\r\n/i);
    assert.deepEqual(received.match(/^HTTP\/1\.1 \d{3}/gm), ['HTTP/1.1 200'], 'one answer on the connection');
    assert.deepEqual(seen, ['/first'], 'legacy never ran the request that could not be answered');
    const accessed = s.logs.map((line) => JSON.parse(line) as { msg: string; status?: unknown }).filter((line) => line.msg === 'request');
    assert.deepEqual(accessed.map((line) => line.status).sort(), [200, 503], 'each request accounted once');
  });

  it('does not cut a slow upload with 504: timeoutMs starts once the request is sent', async () => {
    const legacy = await upstream(listen((req, res) => { req.resume(); req.on('end', () => res.end('ok')); }));
    const s = await stack(legacy.url, { legacy: { url: legacy.url, timeoutMs: 300, idleTimeoutMs: 300 } });
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(`${s.proxy.trafficUrl}/upload`, { method: 'POST', headers: { 'content-length': '10' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      let sent = 0;
      const drip = setInterval(() => {
        request.write('x');
        if (++sent === 10) {
          clearInterval(drip);
          request.end();
        }
      }, 60);
    });
    assert.equal(status, 200);
  });

  it('lets a pooled connection go before legacy\'s own keep-alive timeout, so a write never meets a closed one', async () => {
    const legacy = await upstream(listen((req, res) => { req.resume().on('end', () => res.end('ok')); }));
    legacy.server.keepAliveTimeout = 300;
    const s = await stack(legacy.url, { legacy: { url: legacy.url, keepAliveMs: 100 } });
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${s.proxy.trafficUrl}/orders`, { method: 'POST', body: 'x' });
      assert.equal(response.status, 200, `POST ${i}`);
      await response.arrayBuffer();
      await sleep(200 + i * 50);
    }
  });

  it('replaces a client\'s own X-Forwarded-* unless a trusted balancer is configured', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const legacy = await upstream(listen((req, res) => { seen.push(req.headers); req.resume().on('end', () => res.end('ok')); }));
    const s = await stack(legacy.url);
    await (await fetch(`${s.proxy.trafficUrl}/x`, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } })).text();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen[0]?.['x-forwarded-proto'], 'http');
    assert.equal(seen[0]?.['x-forwarded-host'], new URL(s.proxy.trafficUrl).host);
  });
});

describe('a legacy system served over https', function () {
  this.timeout(30_000);
  let dir: string;
  let server: https.Server;
  let url: string;
  const markers: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cutover-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this test makes a self-signed certificate with openssl: apt-get install openssl (${(error as Error).message})`);
    }
    server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
      markers.push(String(req.headers['x-cutover-shadow'] ?? 'primary'));
      req.resume().on('end', () => res.end(`tls ${req.method} ${req.url}`));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => { if (server) server.close(() => resolve()); else resolve(); });
    rmSync(dir, { recursive: true, force: true });
  });

  it('proxies and mirrors to it through a keep-alive https agent that trusts the configured CA', async () => {
    const s = await startTestProxy({
      legacyUrl: url,
      functions: { catalog: { handler: async () => ({ statusCode: 200, body: 'tls GET /products/1' }) } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'live' }],
      extra: { legacy: { url, ca: path.join(dir, 'cert.pem') } },
    });
    try {
      const unmatched = await fetch(`${s.proxy.trafficUrl}/other`);
      assert.equal(await unmatched.text(), 'tls GET /other');
      await (await fetch(`${s.proxy.trafficUrl}/products/1`, { headers: { 'x-customer-id': 'c1' } })).arrayBuffer();
      await until(async () => sample(await s.metrics(), 'cutover_comparisons_total', { group: 'catalog', route: 'GET /products/{id}', verdict: 'match' }) === 1, 'a comparison with the https side');
      assert.deepEqual(markers, ['primary', '1'], 'the unmatched request as a primary, the mirrored one as a shadow');
    } finally {
      await s.close();
    }
  });

  it('refuses to start when the CA file cannot be read, naming the key', () => {
    assert.throws(() => parseConfig({ legacy: { url, ca: 'missing.pem' }, flags: { datafile: 'x.json' }, groups: { catalog: { flag: 'f', function: 'f', routes: ['GET /x'] } } }, dir, {}),
      (error: unknown) => error instanceof ConfigError && /legacy\.ca/.test(error.message));
  });
});
