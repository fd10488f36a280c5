import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { toHttpEvent } from '../proxy/backends/lambda-event.js';
import { parseRoute } from '../proxy/config/route.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';

/**
 * Query parameters named like the members every plain object inherits must reach the function as
 * the client sent them, as API Gateway passes them: otherwise the new side answers other input
 * than legacy did, and the comparison reports a mismatch that is not one.
 */
describe('the Lambda event\'s query parameters, through the proxy and the local Lambda host', function () {
  let legacy: TestServer;
  let stack: TestProxy;
  const seen: APIGatewayProxyEventV2[] = [];
  const functions: Record<string, HostedFunction> = {
    echo: { handler: async (event: APIGatewayProxyEventV2) => { seen.push(event); return { statusCode: 200, body: 'ok' }; } },
  };

  before(async () => {
    legacy = await listen((_req, res) => res.end('legacy'));
    stack = await startTestProxy({
      legacyUrl: legacy.url, functions,
      groups: { echo: { flag: 'echo_flag', function: 'echo', routes: ['GET /pets'], fallback: false } },
      flags: [{ key: 'echo_flag', everyoneElse: 'complete' }],
    });
  });

  after(async () => {
    await stack?.close();
    await legacy?.close();
  });

  it('passes constructor, __proto__, toString and hasOwnProperty as sent, repeated ones joined by commas', async () => {
    const query = 'constructor=y&__proto__=x&toString=t&hasOwnProperty=h&valueOf=v&constructor=z&plain=1';
    const response = await fetch(`${stack.proxy.trafficUrl}/pets?${query}`, { headers: { 'x-customer-id': 'c1' } });
    assert.equal(await response.text(), 'ok');
    assert.equal(seen.length, 1);
    const parameters = seen[0]?.queryStringParameters ?? {};
    // Compared member by member: own members only, so that one inherited from Object.prototype cannot pass for one sent.
    assert.deepEqual(Object.entries(parameters).sort(), [
      ['__proto__', 'x'], ['constructor', 'y,z'], ['hasOwnProperty', 'h'], ['plain', '1'], ['toString', 't'], ['valueOf', 'v'],
    ]);
  });

  // The proxy's forwarding copy (proxy/headers.ts) drops a header named `__proto__` before the event
  // is built, so this one is checked at the event builder, which replays use too.
  it('builds the event\'s headers with a header named __proto__ or constructor as one like any other', () => {
    const headers: IncomingHttpHeaders = Object.fromEntries([['host', 'shop.example'], ['__proto__', 'p'], ['constructor', 'c']]);
    const match = { route: parseRoute('GET /pets', 'echo'), params: {} };
    const event = toHttpEvent({ method: 'GET', url: '/pets', headers, httpVersion: '1.1', sourceIp: '127.0.0.1', body: Buffer.alloc(0), requestId: 'r-1' }, match, 0);
    const received = JSON.parse(JSON.stringify(event)) as APIGatewayProxyEventV2;
    assert.deepEqual(Object.entries(received.headers).sort(), [['__proto__', 'p'], ['constructor', 'c'], ['host', 'shop.example']]);
  });
});
