import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { fromFunctionResult, InvalidFunctionResult } from '../proxy/backends/lambda-event.js';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';

const events: APIGatewayProxyEventV2[] = [];
let invocations = 0;

const functions: Record<string, HostedFunction> = {
  echo: {
    handler: async (event: APIGatewayProxyEventV2) => {
      invocations += 1;
      events.push(event);
      return {
        statusCode: 201,
        headers: { 'content-type': 'application/json', connection: 'x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=5', 'x-kept': 'yes' },
        cookies: ['session=abc; Path=/', 'theme=dark'],
        body: JSON.stringify({ seen: event.rawPath }),
      };
    },
  },
  binary: { handler: async () => ({ statusCode: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]).toString('base64'), isBase64Encoded: true }) },
  bare: { handler: async () => ({ hello: 'world' }) },
  ponder: { handler: async () => { await sleep(150); return { statusCode: 200, body: 'considered' }; } },
};

const group = (fn: string, routes: string[], extra: Record<string, unknown> = {}) => ({ flag: `${fn}_flag`, function: fn, routes, fallback: false, ...extra });

describe('the Lambda backend, through the real LambdaClient and the local Lambda host', function () {
  this.timeout(20_000);
  let legacy: TestServer;
  let stack: TestProxy;

  before(async () => {
    legacy = await listen((_req, res) => res.end('legacy'));
    stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions,
      groups: {
        echo: group('echo', ['GET /pets/{id}', 'POST /pets', 'GET /files/{path+}']),
        binary: group('binary', ['GET /photo']),
        bare: group('bare', ['GET /bare']),
        ponder: group('ponder', ['GET /ponder']),
      },
      flags: ['echo', 'binary', 'bare', 'ponder'].map((fn) => ({ key: `${fn}_flag`, everyoneElse: 'complete' as const })),
    });
  });

  after(async () => {
    await stack?.close();
    await legacy?.close();
  });

  beforeEach(() => {
    events.length = 0;
    invocations = 0;
  });

  it('sends an API Gateway HTTP API (2.0) event that the published schema accepts', async () => {
    const response = await fetch(`${stack.proxy.trafficUrl}/pets/42?color=brown&tag=a&tag=b`, {
      headers: { 'x-customer-id': 'c1', cookie: 'a=1; b=2', 'x-multi': 'one', 'user-agent': 'mocha', 'x-request-id': 'req-12345678' },
    });
    assert.equal(response.status, 201);
    const event = events[0];
    assert.ok(event);
    const parsed = APIGatewayProxyEventV2Schema.safeParse(event);
    assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
    assert.equal(event.version, '2.0');
    assert.equal(event.routeKey, 'GET /pets/{id}');
    assert.equal(event.rawPath, '/pets/42');
    assert.equal(event.rawQueryString, 'color=brown&tag=a&tag=b');
    assert.deepEqual(event.queryStringParameters, { color: 'brown', tag: 'a,b' });
    assert.deepEqual(event.pathParameters, { id: '42' });
    assert.deepEqual(event.cookies, ['a=1', 'b=2']);
    assert.equal(event.headers.cookie, undefined, 'cookies travel in `cookies`, not in headers');
    assert.equal(event.headers['x-multi'], 'one');
    assert.equal(event.headers['x-request-id'], 'req-12345678');
    assert.equal(event.requestContext.http.method, 'GET');
    assert.equal(event.requestContext.http.sourceIp, '127.0.0.1');
    assert.equal(event.requestContext.http.userAgent, 'mocha');
    assert.equal(event.requestContext.requestId, 'req-12345678');
    assert.match(event.requestContext.time, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.body, undefined);
  });

  it('joins duplicate headers with commas, passes greedy path parameters, and base64-encodes binary bodies', async () => {
    const body = Buffer.from([0, 1, 2, 250, 251]);
    const pets = await fetch(`${stack.proxy.trafficUrl}/pets`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-customer-id': 'c1' }, body });
    assert.equal(pets.status, 201);
    const files = await fetch(`${stack.proxy.trafficUrl}/files/a/b%20c/d.txt`, { headers: { 'x-customer-id': 'c1', accept: 'text/plain' } });
    assert.equal(files.status, 201);
    await new Promise<void>((resolve, reject) => {
      const request = http.request(`${stack.proxy.trafficUrl}/pets/9`, { headers: { 'x-customer-id': 'c1' } }, (res) => res.resume().on('end', resolve));
      request.setHeader('x-dup', ['a', 'b']);
      request.on('error', reject).end();
    });
    assert.equal(events.length, 3, 'one invocation per request');
    const [post, greedy, duplicated] = events;
    assert.equal(duplicated?.headers['x-dup'], 'a, b');
    assert.equal(post?.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(post?.body ?? '', 'base64'), body);
    assert.deepEqual(greedy?.pathParameters, { path: 'a/b c/d.txt' });
    for (const event of events) assert.ok(APIGatewayProxyEventV2Schema.safeParse(event).success);
  });

  it('maps the result back: status, cookies as separate set-cookie headers, no hop-by-hop headers', async () => {
    const response = await fetch(`${stack.proxy.trafficUrl}/pets/7`, { headers: { 'x-customer-id': 'c1' } });
    assert.equal(response.status, 201);
    assert.deepEqual(response.headers.getSetCookie(), ['session=abc; Path=/', 'theme=dark']);
    assert.equal(response.headers.get('x-internal'), null, 'a header named in Connection is hop-by-hop');
    assert.equal(response.headers.get('x-kept'), 'yes');
    assert.deepEqual(await response.json(), { seen: '/pets/7' });
  });

  it('times an invocation from its start to its answer', async () => {
    assert.equal(await (await fetch(`${stack.proxy.trafficUrl}/ponder`)).text(), 'considered');
    const metrics = await stack.metrics();
    assert.equal(sample(metrics, 'cutover_upstream_duration_seconds_count', { group: 'ponder', backend: 'new', role: 'primary' }), 1);
    assert.ok(sample(metrics, 'cutover_upstream_duration_seconds_sum', { group: 'ponder', backend: 'new', role: 'primary' }) >= 0.15, 'at least the 150 ms the function took');
  });

  it('decodes base64 bodies and treats a result without statusCode as a 200 JSON body', async () => {
    const photo = await fetch(`${stack.proxy.trafficUrl}/photo`, { headers: { 'x-customer-id': 'c1' } });
    assert.equal(photo.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await photo.arrayBuffer()), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]));
    const bare = await fetch(`${stack.proxy.trafficUrl}/bare`, { headers: { 'x-customer-id': 'c1' } });
    assert.equal(bare.status, 200);
    assert.match(bare.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await bare.json(), { hello: 'world' });
  });

  it('refuses a body over the 6 MB payload limit with 413 before invoking', async () => {
    const response = await fetch(`${stack.proxy.trafficUrl}/pets`, { method: 'POST', headers: { 'x-customer-id': 'c1', 'content-type': 'application/json' }, body: Buffer.alloc(6 * 1024 * 1024 + 1, 0x20) });
    assert.equal(response.status, 413);
    assert.equal(invocations, 0);
  });

  it('refuses a body that fits but whose event would not, with 413 before invoking', async () => {
    const response = await fetch(`${stack.proxy.trafficUrl}/pets`, { method: 'POST', headers: { 'x-customer-id': 'c1', 'content-type': 'application/octet-stream' }, body: Buffer.alloc(5 * 1024 * 1024, 7) });
    assert.equal(response.status, 413, 'base64 makes 5 MB of binary over 6 MB of event');
    assert.equal(invocations, 0);
  });
});

describe('fromFunctionResult', () => {
  it('rejects results that are not HTTP responses', () => {
    for (const result of [{ statusCode: 99 }, { statusCode: 103 }, { statusCode: 200, headers: { 'bad name': 'x' } }, { statusCode: 200, headers: { ok: 'line\r\nbreak' } }, { statusCode: 200, headers: [] }, { statusCode: 200, body: 12 }, { statusCode: 200, cookies: [1] }]) {
      assert.throws(() => fromFunctionResult(result), InvalidFunctionResult, JSON.stringify(result));
    }
  });
});
