/**
 * The fault matrix: each way a side, the flags, the diff store, a client or its bytes can fail,
 * one case per row. Every case asserts, through accounted(), that the proxy lives, that the client
 * got the right answer or the proxy's own error document, and that the counters account for every
 * request (docs/failures.md, and "Metrics" in docs/reference.md).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { DatafileError } from '../proxy/decision/datafile/source.js';
import type { Decision } from '../proxy/decision/flags.js';
import type { Side, Stage } from '../proxy/decision/stage.js';
import { accounted, cut, each, passed, problem, shadowsEnded } from './support/accounted.js';
import { type Answer, chunked, exchange, request, send, sendBytes } from './support/answers.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { buildDatafile, writeDatafile } from './support/datafile.js';
import { sample, sampleAll, samplesWith } from './support/metrics.js';
import { startTestProxy, type TestProxy, type TestProxyOptions } from './support/proxy.js';
import { type Relay, relayTo } from './support/relay.js';
import { closedPort, listen, rawServer, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

const JSON_API = { 'content-type': 'application/vnd.api+json' };
const ROUTES = ['GET /products/{id}', 'POST /products'];

/** What both sides answer for a product (or for a POST, `new`), so that a comparison of sound answers matches. */
const document = (id: string) => JSON.stringify({ data: { type: 'products', id } });

/** The labels of a request to the catalog group, by route, stage and the side that served it. */
const counted = (route: string) => (stage: Stage, servedBy: Side, statusClass: string) => ({ group: 'catalog', route, stage, served_by: servedBy, status_class: statusClass });
const read = counted('GET /products/{id}');
const written = counted('POST /products');
const unmatched = (statusClass: string) => ({ group: 'unmatched', route: 'unmatched', stage: 'legacy', served_by: 'legacy', status_class: statusClass });

/** One request as the legacy server's own parser read it. */
interface Hit { url: string; headers: IncomingHttpHeaders; body: Buffer; trailers: NodeJS.Dict<string> }

describe('the fault matrix', function () {
  this.timeout(15_000);
  const hits: Hit[] = [];
  /** Paths whose legacy response the proxy abandoned before it was complete. */
  const cancelled: string[] = [];
  const invocations: APIGatewayProxyEventV2[] = [];
  /** Answers a case holds back (a legacy response, a function's result); let go when the case ends. */
  const held: Array<() => void> = [];
  const hold = () => new Promise<void>((resolve) => { held.push(resolve); });
  const release = () => { for (const resume of held.splice(0)) resume(); };
  /** Whether the `flapping` function answers. */
  let healthy = true;
  /** What a case opened, closed after it, last opened first. */
  const opened: Array<() => unknown> = [];
  const closing = <T extends { close(): unknown }>(thing: T): T => {
    opened.push(() => thing.close());
    return thing;
  };
  let legacy: TestServer;

  const answerAsLegacy = async (event: APIGatewayProxyEventV2) => ({
    statusCode: event.requestContext.http.method === 'POST' ? 201 : 200, headers: JSON_API, body: document(event.pathParameters?.id ?? 'new'),
  });
  const FUNCTIONS: Record<string, HostedFunction> = {
    catalog: { handler: async (event: APIGatewayProxyEventV2) => { invocations.push(event); return answerAsLegacy(event); } },
    throws: { handler: async () => { throw new TypeError('cannot read stock of undefined'); } },
    stalled: { handler: async (event: APIGatewayProxyEventV2) => { await hold(); return answerAsLegacy(event); } },
    throttled: { handler: answerAsLegacy, reservedConcurrency: 0 },
    malformed: { handler: async () => ({ statusCode: 'two hundred' }) },
    flapping: { handler: async (event: APIGatewayProxyEventV2) => { if (!healthy) throw new Error('down'); return answerAsLegacy(event); } },
    // Fails while unhealthy; once healthy, holds each answer until the case lets go.
    probed: { handler: async (event: APIGatewayProxyEventV2) => { invocations.push(event); if (!healthy) throw new Error('down'); await hold(); return answerAsLegacy(event); } },
    // Shadows that take 30 to 110 ms, so that the pool fills and clients leave while some are under way.
    slow: {
      handler: async (event: APIGatewayProxyEventV2) => {
        const nth = invocations.push(event);
        await sleep(30 + (nth % 5) * 20);
        return answerAsLegacy(event);
      },
    },
    failsLate: { handler: async () => { await hold(); return { statusCode: 503, body: 'no' }; } },
  };

  /**
   * Legacy, scripted by path: `/hang` answers only when the case ends, `/reset` resets before
   * answering, `/reset-mid-body` breaks off its answer, `/stall-body` stops in its middle; any
   * other request is answered at once, as the catalog function answers it.
   */
  before(async () => {
    legacy = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = req.url ?? '';
        hits.push({ url, headers: req.headers, body: Buffer.concat(chunks), trailers: req.trailers });
        res.on('close', () => { if (!res.writableFinished) cancelled.push(url); });
        if (url.includes('/hang')) return void hold().then(() => res.end('late'));
        if (url.includes('/reset-mid-body')) {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
          return void res.write('partial', () => req.socket.destroy());
        }
        if (url.includes('/reset')) return void req.socket.destroy();
        if (url.includes('/stall-body')) {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part-');
          return void hold().then(() => res.end('rest'));
        }
        res.writeHead(req.method === 'POST' ? 201 : 200, JSON_API);
        res.end(document(req.method === 'POST' ? 'new' : url.split('/').at(-1) ?? ''));
      });
    });
  });

  afterEach(async () => {
    release();
    for (const close of opened.splice(0).reverse()) await close();
    hits.length = 0;
    cancelled.length = 0;
    invocations.length = 0;
    healthy = true;
  });

  after(async () => {
    await legacy?.close();
  });

  interface StackOptions {
    readonly stage: Stage;
    /** The catalog group's function on the new side. */
    readonly fn?: string;
    /** More of the catalog group's configuration (fallback is off unless a case turns it on). */
    readonly group?: Record<string, unknown>;
    readonly legacyUrl?: string;
    /** legacy.timeoutMs, legacy.idleTimeoutMs. */
    readonly legacyTimeouts?: Record<string, number>;
    readonly extra?: Record<string, unknown>;
    readonly flagsConfig?: TestProxyOptions['flagsConfig'];
  }

  /** A proxy whose one group, catalog, is in `stage` for every caller; closed after the case. */
  async function stack(options: StackOptions): Promise<TestProxy> {
    const legacyUrl = options.legacyUrl ?? legacy.url;
    return closing(await startTestProxy({
      legacyUrl,
      functions: FUNCTIONS,
      groups: { catalog: { flag: 'catalog_flag', function: options.fn ?? 'catalog', routes: ROUTES, fallback: false, ...options.group } },
      flags: [{ key: 'catalog_flag', everyoneElse: options.stage }],
      extra: { ...(options.legacyTimeouts ? { legacy: { url: legacyUrl, ...options.legacyTimeouts } } : {}), ...options.extra },
      ...(options.flagsConfig ? { flagsConfig: options.flagsConfig } : {}),
    }));
  }

  /** A client connection that sends `bytes` and stays open for the case to abandon. */
  async function client(s: TestProxy, bytes: Buffer): Promise<net.Socket> {
    const socket = net.connect(Number(new URL(s.proxy.trafficUrl).port), '127.0.0.1');
    socket.on('error', () => undefined);
    opened.push(() => socket.destroy());
    await once(socket, 'connect');
    socket.write(bytes);
    return socket;
  }

  const decided = async (s: TestProxy) => await (await fetch(`${s.proxy.adminUrl}/api/decide?group=catalog&caller=c1`)).json() as Decision;
  const readyz = async (s: TestProxy) => await (await fetch(`${s.proxy.adminUrl}/readyz`)).json() as { status: string; reasons?: string[] };
  const verdicts = async (s: TestProxy, verdict: string) => sampleAll(await s.metrics(), 'cutover_comparisons_total', { verdict });

  describe('upstreams: legacy', () => {
    it('refuses the connection: 502 refused', async () => {
      const s = await stack({ stage: 'legacy', legacyUrl: `http://127.0.0.1:${await closedPort()}` });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), problem(502, 'refused')]],
        requests: [[read('legacy', 'legacy', '5xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'refused' }, 1]] },
      });
    });

    it('resets the connection before answering: 502 reset', async () => {
      const s = await stack({ stage: 'legacy' });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/reset'), problem(502, 'reset')]],
        requests: [[read('legacy', 'legacy', '5xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'reset' }, 1]] },
      });
    });

    it('closes an idle keep-alive connection: the next request goes on a new connection', async () => {
      const connections = new Set<net.Socket>();
      const closer = closing(await rawServer((_head, socket) => {
        connections.add(socket);
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }));
      const s = await stack({ stage: 'legacy', legacyUrl: closer.url });
      const answers = [await send(s.proxy.trafficUrl, 'GET /products/1'), await send(s.proxy.trafficUrl, 'POST /products', { body: '{}' })];
      assert.equal(connections.size, 2, 'each request on a connection of its own');
      await accounted(s, {
        answers: each(answers, passed(200, 'ok')),
        requests: [[read('legacy', 'legacy', '2xx'), 1], [written('legacy', 'legacy', '2xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{}, 0]] },
      });
    });

    it('resets a reused connection after the request was written: 502 reset, and the request is never sent twice', async () => {
      // Each connection answers its first request and resets on the next one.
      const served = new WeakSet<net.Socket>();
      const resetter = closing(await rawServer((_head, socket) => {
        if (served.has(socket)) return void socket.resetAndDestroy();
        served.add(socket);
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }));
      const s = await stack({ stage: 'legacy', legacyUrl: resetter.url });
      const first = await send(s.proxy.trafficUrl, 'GET /products/1');
      const reused = await send(s.proxy.trafficUrl, 'GET /products/2');
      assert.deepEqual(resetter.requests.map((head) => head.split(' ', 2).join(' ')), ['GET /products/1', 'GET /products/2']);
      await accounted(s, {
        answers: [[first, passed(200, 'ok')], [reused, problem(502, 'reset')]],
        requests: [[read('legacy', 'legacy', '2xx'), 1], [read('legacy', 'legacy', '5xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'reset' }, 1]] },
      });
    });

    it('answers with a status that is not a final HTTP status (000): 502 invalid_response', async () => {
      const zero = closing(await rawServer((_head, socket) => socket.end('HTTP/1.1 000 Zero\r\nContent-Length: 2\r\n\r\nhi')));
      const s = await stack({ stage: 'legacy', legacyUrl: zero.url });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), problem(502, 'invalid_response')]],
        requests: [[read('legacy', 'legacy', '5xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'invalid_response' }, 1]] },
      });
    });

    it('answers with a header block over undici\'s limit: 502 invalid_response, not a reset', async () => {
      const flood = closing(await rawServer((_head, socket) => socket.end(`HTTP/1.1 200 OK\r\nX-Flood: ${'a'.repeat(70_000)}\r\nContent-Length: 2\r\n\r\nhi`)));
      const s = await stack({ stage: 'legacy', legacyUrl: flood.url });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), problem(502, 'invalid_response')]],
        requests: [[read('legacy', 'legacy', '5xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'invalid_response' }, 1]] },
      });
    });

    it('closes its connection short of the Content-Length it announced: the client\'s connection is cut, invalid_response counted', async () => {
      const short = closing(await rawServer((_head, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabcd')));
      const s = await stack({ stage: 'legacy', legacyUrl: short.url });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), cut(200)]],
        requests: [[read('legacy', 'legacy', '2xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'invalid_response' }, 1]] },
      });
    });

    it('sends an unsolicited 100 Continue before its answer: the client gets the answer (RFC 9110 §15.2), on a write legacy ran', async () => {
      const interim = closing(await rawServer((_head, socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok')));
      const s = await stack({ stage: 'legacy', legacyUrl: interim.url });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'POST /products', { body: '{}' }), passed(201, 'ok')]],
        requests: [[written('legacy', 'legacy', '2xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{}, 0]] },
      });
    });

    it('sends 100 Continue split across packets, a second 100 and a 103, then on the same connection a body that reads like a 100: each answer passed on whole', async () => {
      const connections = new Set<net.Socket>();
      const interim = closing(await rawServer((_head, socket) => {
        connections.add(socket);
        if (interim.requests.length === 1) {
          socket.write('HTTP/1.1 10');
          setTimeout(() => socket.write('0 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 100\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok'), 20);
          return;
        }
        // Its body comes in a read of its own, where an answer could start.
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n');
        setTimeout(() => socket.write('HTTP/1.1 100 Continue\r\n\r\n'), 20);
      }));
      // One pooled connection: the second answer comes on the connection the first one's 100s came on.
      const s = await stack({ stage: 'legacy', legacyUrl: interim.url, extra: { legacy: { url: interim.url, timeoutMs: 1_000, connections: 1 } } });
      const created = await send(s.proxy.trafficUrl, 'POST /products', { body: '{}' });
      const reused = await send(s.proxy.trafficUrl, 'GET /products/2');
      assert.equal(connections.size, 1, 'both on the one pooled connection');
      await accounted(s, {
        answers: [[created, passed(201, 'ok')], [reused, passed(200, 'HTTP/1.1 100 Continue\r\n\r\n')]],
        requests: [[written('legacy', 'legacy', '2xx'), 1], [read('legacy', 'legacy', '2xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{}, 0]] },
      });
    });

    it('answers with a reason phrase the proxy cannot copy: passed on with the proxy\'s own', async () => {
      const control = closing(await rawServer((_head, socket) => socket.end('HTTP/1.1 200 OK\x01bad\r\nContent-Length: 2\r\n\r\nhi')));
      const s = await stack({ stage: 'legacy', legacyUrl: control.url });
      await accounted(s, { answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), passed(200, 'hi')]], requests: [[read('legacy', 'legacy', '2xx'), 1]] });
    });

    it('answers before reading the body: passed on with Connection: close, so the client\'s connection is not reused', async () => {
      const early = closing(await rawServer((_head, socket) => socket.end('HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno')));
      const s = await stack({ stage: 'legacy', legacyUrl: early.url });
      // A keep-alive client: only the proxy's Connection: close ends the exchange.
      const answer = await sendBytes(s.proxy.trafficUrl, request('POST /products', { body: Buffer.alloc(4 * 1024 * 1024, 0x61), close: false }));
      assert.equal(answer.headers.connection, 'close');
      await accounted(s, { answers: [[answer, passed(413, 'no')]], requests: [[written('legacy', 'legacy', '4xx'), 1]] });
    });

    it('sends no headers within timeoutMs, Expect: 100-continue or not: 504 timeout', async () => {
      const s = await stack({ stage: 'legacy', legacyTimeouts: { timeoutMs: 300 } });
      const plain = await send(s.proxy.trafficUrl, 'GET /products/hang');
      const expecting = await send(s.proxy.trafficUrl, 'POST /hang', { headers: { Expect: '100-continue' }, body: '{}' });
      await accounted(s, {
        answers: [[plain, problem(504, 'timeout')], [expecting, problem(504, 'timeout')]],
        requests: [[read('legacy', 'legacy', '5xx'), 1], [unmatched('5xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'timeout' }, 2]] },
      });
    });

    it('breaks off in the middle of its response: the client\'s connection is cut, a reset counted, the pool still serves', async () => {
      const s = await stack({ stage: 'legacy' });
      const broken = await send(s.proxy.trafficUrl, 'GET /products/reset-mid-body');
      const next = await send(s.proxy.trafficUrl, 'GET /products/1');
      await accounted(s, {
        answers: [[broken, cut(200)], [next, passed(200, document('1'))]],
        requests: [[read('legacy', 'legacy', '2xx'), 2]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'reset' }, 1]] },
      });
    });

    it('stalls inside its response body longer than idleTimeoutMs: the client\'s connection is cut, a timeout counted', async () => {
      const s = await stack({ stage: 'legacy', legacyTimeouts: { timeoutMs: 300, idleTimeoutMs: 200 } });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/stall-body'), cut(200)]],
        requests: [[read('legacy', 'legacy', '2xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'primary', reason: 'timeout' }, 1]] },
      });
      assert.deepEqual(cancelled, ['/products/stall-body'], 'the proxy gave up its exchange with legacy');
    });

    it('sends a body after a 204: the 204 is passed on, and the stray bytes never reach the next client', async () => {
      let requests = 0;
      const stray = closing(await rawServer((_head, socket) => {
        requests += 1;
        if (requests === 1) socket.write(`HTTP/1.1 204 No Content\r\nContent-Length: 60\r\n\r\n${'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Evil: 1\r\n\r\nsmuggled'.padEnd(60, ' ')}`);
        else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal');
      }));
      const s = await stack({ stage: 'legacy', legacyUrl: stray.url });
      const first = await send(s.proxy.trafficUrl, 'GET /products/1');
      const second = await send(s.proxy.trafficUrl, 'GET /products/2');
      assert.equal(second.headers['x-evil'], undefined);
      await accounted(s, { answers: [[first, passed(204, '')], [second, passed(200, 'real')]], requests: [[read('legacy', 'legacy', '2xx'), 2]] });
    });
  });

  describe('upstreams: Lambda', () => {
    let resetting: net.Server;
    before(async () => {
      resetting = net.createServer((socket) => socket.destroy());
      resetting.listen(0, '127.0.0.1');
      await once(resetting, 'listening');
    });
    after(() => { resetting?.close(); });

    /** Each failure of the new side, with what a client gets when no fallback applies (the group's timeoutMs is 200). */
    const FAILURES: ReadonlyArray<{ what: string; fn: string; endpoint?: 'resetting'; status: number; code: string }> = [
      { what: 'the function throws (FunctionError)', fn: 'throws', status: 502, code: 'function_error' },
      { what: 'the invocation passes the group\'s timeoutMs', fn: 'stalled', status: 504, code: 'timeout' },
      { what: 'Lambda throttles (TooManyRequestsException)', fn: 'throttled', status: 503, code: 'throttled' },
      { what: 'the Lambda endpoint resets the connection', fn: 'catalog', endpoint: 'resetting', status: 502, code: 'reset' },
      { what: 'the function does not exist', fn: 'no_such_function', status: 502, code: 'not_found' },
      { what: 'the function answers something that is not an HTTP response', fn: 'malformed', status: 502, code: 'invalid_response' },
    ];
    const lambdaStack = (failure: (typeof FAILURES)[number], stage: Stage, fallback: boolean) => stack({
      stage, fn: failure.fn, group: { timeoutMs: 200, fallback },
      ...(failure.endpoint ? { extra: { lambda: { endpoint: `http://127.0.0.1:${(resetting.address() as AddressInfo).port}` } } } : {}),
    });
    const newSideFailed = (code: string) => [[{ backend: 'new', role: 'primary', reason: code }, 1]] as const;

    for (const failure of FAILURES) {
      it(`${failure.what}, with no fallback: ${failure.status} ${failure.code}`, async () => {
        const s = await lambdaStack(failure, 'complete', false);
        const answer = await send(s.proxy.trafficUrl, 'GET /products/1');
        if (failure.code === 'throttled') assert.equal(answer.headers['retry-after'], '1');
        await accounted(s, {
          answers: [[answer, problem(failure.status, failure.code)]],
          requests: [[read('complete', 'new', '5xx'), 1]],
          counters: { cutover_upstream_errors_total: newSideFailed(failure.code) },
        });
      });

      it(`${failure.what}, in live: legacy answers the read, a fallback counted`, async () => {
        const s = await lambdaStack(failure, 'live', true);
        await accounted(s, {
          answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), passed(200, document('1'))]],
          requests: [[read('live', 'legacy', '2xx'), 1]],
          counters: {
            cutover_upstream_errors_total: newSideFailed(failure.code),
            cutover_fallbacks_total: [[{ reason: failure.code }, 1]],
            cutover_comparisons_total: [[{ verdict: 'error' }, 1]],
          },
        });
      });
    }

    it('the function throws on a write, in live: 502, never sent to legacy', async () => {
      const s = await stack({ stage: 'live', fn: 'throws', group: { fallback: true } });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'POST /products', { body: '{}' }), problem(502, 'function_error')]],
        requests: [[written('live', 'new', '5xx'), 1]],
        counters: { cutover_fallbacks_total: [[{}, 0]], cutover_shadow_skipped_total: [[{ reason: 'unsafe_method' }, 1]] },
      });
      assert.deepEqual(hits, [], 'legacy never saw the write');
    });
  });

  describe('the shadow side', () => {
    /** Sends GET /products/<n> as the n-th request, then waits for its shadow to be compared or skipped: the breaker sees one at a time. */
    const sendSettled = async (s: TestProxy, answers: Answer[]) => {
      answers.push(await send(s.proxy.trafficUrl, `GET /products/${answers.length}`));
      await until(async () => shadowsEnded(await s.metrics()) === answers.length, `the shadow of request ${answers.length} compared or skipped`);
    };
    /** Each GET /products/<n> answered by the primary with product n. */
    const productsInOrder = (answers: readonly Answer[]) => answers.map((answer, n) => [answer, passed(200, document(String(n)))] as const);

    // mirror: is the old name of shadow:, read for one more release with a warning that names the new key.
    for (const key of ['shadow', 'mirror'] as const) it(`is stalled: the primary never waits, the pool holds ${key}.maxInFlight and drops the rest`, async () => {
      const s = await stack({ stage: 'shadow', fn: 'stalled', extra: { [key]: { maxInFlight: 3 } } });
      const renamed = s.logs.filter((line) => line.includes('mirror.maxInFlight is shadow.maxInFlight') && JSON.parse(line).level === 40);
      assert.equal(renamed.length, key === 'mirror' ? 1 : 0, 'one warning at start, for the old name only');
      const answers: Answer[] = [];
      const peaks: number[] = [];
      for (let i = 0; i < 12; i++) {
        answers.push(await send(s.proxy.trafficUrl, `GET /products/${i}`));
        peaks.push(sample(await s.metrics(), 'cutover_shadow_inflight', {}));
      }
      assert.equal(Math.max(...peaks), 3);
      release();
      await accounted(s, {
        answers: productsInOrder(answers),
        requests: [[read('shadow', 'legacy', '2xx'), 12]],
        counters: { cutover_shadow_skipped_total: [[{ reason: 'capacity' }, 9]], cutover_comparisons_total: [[{ verdict: 'match' }, 3]] },
      });
    });

    it('is slower than shadow.timeoutMs: the client is served at once, the comparison is an error (timeout)', async () => {
      const s = await stack({ stage: 'shadow', fn: 'stalled', group: { shadow: { timeoutMs: 200 } } });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), passed(200, document('1'))]],
        requests: [[read('shadow', 'legacy', '2xx'), 1]],
        counters: {
          cutover_comparisons_total: [[{ verdict: 'error' }, 1]],
          cutover_upstream_errors_total: [[{ backend: 'new', role: 'shadow', reason: 'timeout' }, 1]],
        },
      });
    });

    it('is dead (legacy refuses, in live): the client is served, the comparison is an error (refused)', async () => {
      const s = await stack({ stage: 'live', legacyUrl: `http://127.0.0.1:${await closedPort()}` });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), passed(200, document('1'))]],
        requests: [[read('live', 'new', '2xx'), 1]],
        counters: {
          cutover_comparisons_total: [[{ verdict: 'error' }, 1]],
          cutover_upstream_errors_total: [[{ backend: 'legacy', role: 'shadow', reason: 'refused' }, 1]],
        },
      });
    });

    it('is dead (the Lambda endpoint refuses): spared after circuit.failures, then probed once after openMs', async () => {
      const s = await stack({ stage: 'shadow', group: { circuit: { failures: 2, openMs: 300 } }, extra: { lambda: { endpoint: `http://127.0.0.1:${await closedPort()}` } } });
      const answers: Answer[] = [];
      for (let i = 0; i < 6; i++) await sendSettled(s, answers);
      assert.equal(await verdicts(s, 'error'), 2, 'two failures open the breaker; the next four are spared');
      await until(async () => { await sendSettled(s, answers); return (await verdicts(s, 'error')) === 3; }, 'one probe after openMs');
      await accounted(s, {
        answers: productsInOrder(answers),
        requests: [[read('shadow', 'legacy', '2xx'), answers.length]],
        counters: {
          cutover_comparisons_total: [[{ verdict: 'error' }, 3]],
          cutover_shadow_skipped_total: [[{ reason: 'shadow_circuit_open' }, answers.length - 3]],
          cutover_upstream_errors_total: [[{ backend: 'new', role: 'shadow', reason: 'refused' }, 3]],
        },
      });
    });

    it('is probed by one shadow once half-open: while the probe is under way, every other shadow is spared', async () => {
      const s = await stack({ stage: 'shadow', fn: 'probed', group: { circuit: { failures: 2, openMs: 200 } } });
      const answers: Answer[] = [];
      healthy = false;
      for (let i = 0; i < 2; i++) await sendSettled(s, answers);
      healthy = true;
      const ended = async () => shadowsEnded(await s.metrics());
      await until(async () => {
        answers.push(await send(s.proxy.trafficUrl, `GET /products/${answers.length}`));
        await until(async () => invocations.length === 3 || (await ended()) === answers.length, `the shadow of request ${answers.length} sent or skipped`);
        return invocations.length === 3;
      }, 'the half-open probe after openMs');
      for (let i = 0; i < 5; i++) {
        answers.push(await send(s.proxy.trafficUrl, `GET /products/${answers.length}`));
        await until(async () => (await ended()) === answers.length - 1, `the shadow of request ${answers.length} skipped while the probe is held`);
      }
      assert.equal(invocations.length, 3, 'two failures, then one probe: the shadows behind it never reached the function');
      release();
      await until(async () => (await ended()) === answers.length, 'the probe compared');
      await accounted(s, {
        answers: productsInOrder(answers),
        requests: [[read('shadow', 'legacy', '2xx'), answers.length]],
        counters: {
          cutover_comparisons_total: [[{ verdict: 'error' }, 2], [{ verdict: 'match' }, 1]],
          cutover_shadow_skipped_total: [[{ reason: 'shadow_circuit_open' }, answers.length - 3]],
        },
      });
    });

    it('flaps: spared while it fails, compared again once it answers', async () => {
      const s = await stack({ stage: 'shadow', fn: 'flapping', group: { circuit: { failures: 2, openMs: 200 } } });
      const answers: Answer[] = [];
      healthy = false;
      for (let i = 0; i < 3; i++) await sendSettled(s, answers);
      healthy = true;
      await until(async () => { await sendSettled(s, answers); return (await verdicts(s, 'match')) === 1; }, 'a probe after openMs, matching');
      await accounted(s, {
        answers: productsInOrder(answers),
        requests: [[read('shadow', 'legacy', '2xx'), answers.length]],
        counters: {
          cutover_comparisons_total: [[{ verdict: 'error' }, 2], [{ verdict: 'match' }, 1]],
          cutover_shadow_skipped_total: [[{ reason: 'shadow_circuit_open' }, answers.length - 3]],
        },
      });
    });
  });

  describe('the diff store', () => {
    it('is unreachable from the start: clients served, comparisons counted, the records dropped as store_down', async () => {
      const s = await stack({ stage: 'shadow', extra: { store: { url: `postgres://postgres@127.0.0.1:${await closedPort()}/cutover`, sample: { match: 100 }, queue: { flushMs: 25 } } } });
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), passed(200, document('1'))]],
        requests: [[read('shadow', 'legacy', '2xx'), 1]],
        counters: { cutover_comparisons_total: [[{ verdict: 'match' }, 1]], cutover_store_dropped_total: [[{ reason: 'store_down' }, 1]] },
      });
      const ready = await readyz(s);
      assert.equal(ready.status, 'degraded');
      assert.match(ready.reasons?.join(' ') ?? '', /the diff store is not open yet: .*ECONNREFUSED/);
      assert.equal((await fetch(`${s.proxy.adminUrl}/api/diffs`)).status, 503, 'the review API says the store is away');
    });

    for (const kind of databaseKinds()) {
      describe(`that goes away (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
        this.timeout(60_000);
        let database: TestDatabase;
        let relay: Relay;
        before(async () => {
          database = await openTestDatabase(kind);
          relay = await relayTo(database.url);
        });
        after(async () => {
          await relay?.close();
          await database?.close();
        });
        afterEach(() => relay.restore());

        /** A proxy that keeps every comparison, through the relay the case cuts; once its store is open. */
        async function withStore(): Promise<TestProxy> {
          const s = await stack({ stage: 'shadow', extra: { store: { url: relay.url, sample: { match: 100 }, queue: { flushMs: 25 } } } });
          await until(async () => (await readyz(s)).status === 'ready', 'the store open', 15_000);
          return s;
        }
        const stored = async (s: TestProxy, requestId: string | undefined) => {
          const { diffs } = await (await fetch(`${s.proxy.adminUrl}/api/diffs?group=catalog&limit=500`)).json() as { diffs: Array<{ requestId: string }> };
          return diffs.some((diff) => diff.requestId === requestId);
        };
        /** Requests until one is kept in the store: records are dropped until a write finds it back. */
        const untilWritten = async (s: TestProxy, answers: Answer[]) => until(async () => {
          const answer = await send(s.proxy.trafficUrl, 'GET /products/1');
          answers.push(answer);
          // Two flush intervals (flushMs 25) for the record to be written, if it is kept.
          await sleep(50);
          return stored(s, answer.headers['x-request-id']);
        }, 'writing resumed', 15_000);

        it('while traffic flows: no client response lost, drops counted, writing resumes when it is back', async () => {
          const s = await withStore();
          relay.cut();
          const answers: Answer[] = [];
          for (let i = 0; i < 10; i++) answers.push(await send(s.proxy.trafficUrl, 'GET /products/1'));
          await until(async () => sample(await s.metrics(), 'cutover_store_dropped_total', { reason: 'store_down' }) >= 1, 'records dropped as store_down');
          const away = await readyz(s);
          assert.equal(away.status, 'degraded');
          assert.match(away.reasons?.join(' ') ?? '', /diff store does not answer/);
          assert.equal((await fetch(`${s.proxy.adminUrl}/api/diffs`)).status, 503);

          relay.restore();
          await untilWritten(s, answers);
          const summarised = async () => ((await (await fetch(`${s.proxy.adminUrl}/api/groups`)).json()) as { groups: Array<{ comparisons: { total: number } }> }).groups[0]?.comparisons.total;
          await until(async () => (await summarised()) === await verdicts(s, 'match'), 'the comparisons made while the store was away counted once it came back');
          assert.equal((await readyz(s)).status, 'ready');
          // Every record dropped is evidence lost, counted against its route once the store is back.
          const dropped = sample(await s.metrics(), 'cutover_store_dropped_total', { reason: 'store_down' });
          const lost = async () => ((await (await fetch(`${s.proxy.adminUrl}/api/groups`)).json()) as { groups: Array<{ routes: Array<{ lost: Record<string, number> }> }> }).groups[0]?.routes.map((route) => route.lost.store_down ?? 0);
          await until(async () => (await lost())?.[0] === dropped, 'the drops counted against GET /products/{id}');
          assert.deepEqual((await lost())?.slice(1).filter((n) => n > 0), [], 'and against no other route');
          await accounted(s, {
            answers: each(answers, passed(200, document('1'))),
            requests: [[read('shadow', 'legacy', '2xx'), answers.length]],
            counters: { cutover_comparisons_total: [[{ verdict: 'match' }, answers.length]] },
          });
        });

        it('in the middle of writes: the proxy lives, and writes again after', async () => {
          const s = await withStore();
          const writes = async () => sample(await s.metrics(), 'cutover_store_written_total', {});
          const writtenBefore = await writes();
          const answers: Answer[] = [];
          let done = false;
          const traffic = (async () => {
            for (let i = 0; i < 150; i++) answers.push(await send(s.proxy.trafficUrl, 'GET /products/1'));
          })().finally(() => { done = true; });
          // Cut while batches are being written: every few milliseconds, until the traffic is done.
          while (!done) {
            await until(async () => (await writes()) > writtenBefore || done, 'a write under way');
            relay.cut();
            await sleep(5);
            relay.restore();
            await sleep(30);
          }
          await traffic;
          await untilWritten(s, answers);
          await accounted(s, {
            answers: each(answers, passed(200, document('1'))),
            requests: [[read('shadow', 'legacy', '2xx'), answers.length]],
          });
        });
      });
    }
  });

  describe('the flags datafile', () => {
    /** An Optimizely CDN stand-in: the case says what it answers next; a valid datafile puts catalog in `complete`. */
    async function cdn(initial: 'valid' | '404' | '500' | 'invalid' | 'reset') {
      let answer = initial;
      const fetched: string[] = [];
      const server = closing(await listen((_req, res) => {
        fetched.push(answer);
        if (answer === 'valid') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(buildDatafile([{ key: 'catalog_flag', everyoneElse: 'complete' }])));
        if (answer === 'invalid') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"truncated": ');
        if (answer === 'reset') return void res.socket?.resetAndDestroy();
        res.writeHead(Number(answer)).end();
      }));
      return {
        fetched,
        set(next: typeof answer) { answer = next; },
        flagsConfig: { datafile: undefined, watchIntervalMs: undefined, sdkKey: 'sdk-matrix', urlTemplate: `${server.url}/datafiles/%s.json`, pollIntervalMs: 100 },
      };
    }
    const fromOptimizely = async (s: TestProxy) => {
      const decision = await decided(s);
      return decision.source === 'optimizely' && decision.stage === 'complete';
    };

    const BROKEN: ReadonlyArray<{ what: string; make: (file: string) => void; why: RegExp }> = [
      { what: 'missing', make: () => undefined, why: /cannot read the Optimizely datafile \(ENOENT\)/ },
      { what: 'not JSON', make: (file) => writeFileSync(file, '{"truncated": '), why: /the Optimizely datafile is not JSON/ },
      { what: 'not a datafile', make: (file) => writeFileSync(file, '{"hello": "world"}'), why: /Optimizely rejected the datafile/ },
    ];
    for (const broken of BROKEN) {
      it(`a local datafile ${broken.what} at start: the proxy refuses to start, naming the file and why`, async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'cutover-matrix-'));
        opened.push(() => rmSync(dir, { recursive: true, force: true }));
        const file = path.join(dir, 'datafile.json');
        broken.make(file);
        await assert.rejects(stack({ stage: 'legacy', flagsConfig: { datafile: file } }), (error: unknown) => {
          assert.ok(error instanceof DatafileError, String(error));
          assert.ok(error.message.startsWith(file), error.message);
          assert.match(error.message, broken.why);
          return true;
        });
      });
    }

    for (const [what, initial] of [['answers 404', '404'], ['serves an invalid datafile', 'invalid']] as const) {
      it(`the CDN ${what} at start: legacy serves (counted fallback), until the first valid datafile arrives`, async () => {
        const optimizely = await cdn(initial);
        const s = await stack({ stage: 'legacy', flagsConfig: optimizely.flagsConfig });
        await until(() => optimizely.fetched.length > 0, 'the first fetch');
        const first = await send(s.proxy.trafficUrl, 'GET /products/1');
        const ready = await readyz(s);
        assert.equal(ready.status, 'degraded');
        assert.match(ready.reasons?.join(' ') ?? '', /^flags: .*every group is served by legacy/);
        optimizely.set('valid');
        await until(() => optimizely.fetched.includes('valid'), 'the CDN polled again (pollIntervalMs 100)');
        await until(() => fromOptimizely(s), 'the first valid datafile from the CDN to decide');
        await accounted(s, {
          answers: [[first, passed(200, document('1'))], [await send(s.proxy.trafficUrl, 'GET /products/1'), passed(200, document('1'))]],
          requests: [[read('legacy', 'legacy', '2xx'), 1], [read('complete', 'new', '2xx'), 1]],
          counters: { cutover_flag_decisions_total: [[{ source: 'fallback' }, 1], [{ source: 'optimizely' }, 1]] },
        });
      });
    }

    for (const [what, change, reason] of [
      ['becomes invalid', (file: string) => writeFileSync(file, '{"truncated": '), 'invalid_json'],
      ['is deleted', (file: string) => rmSync(file), 'unreadable'],
      ['loses the group\'s flag', (file: string) => writeDatafile(file, [{ key: 'another_flag', everyoneElse: 'legacy' }], 5), 'flag_missing'],
    ] as const) {
      it(`the local datafile ${what} while watched: the last good one keeps deciding, with one error line, /readyz degraded and counted, until it is fixed`, async () => {
        const s = await stack({ stage: 'complete' });
        const first = await send(s.proxy.trafficUrl, 'GET /products/1');
        change(s.datafile);
        await until(async () => sample(await s.metrics(), 'cutover_datafile_errors_total', { reason }) === 1, `the broken datafile counted (${reason})`);
        const kept = await send(s.proxy.trafficUrl, 'GET /products/1');
        const ready = await readyz(s);
        assert.equal(ready.status, 'degraded');
        assert.match(ready.reasons?.join(' ') ?? '', /^flags: .*; revision 1 \(applied .*\) keeps deciding/);
        const errors = s.logs.map((line) => JSON.parse(line) as { level: number; msg: string; reason: string }).filter((line) => line.level === 50);
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.equal(errors[0]?.reason, reason);
        assert.match(errors[0]?.msg ?? '', /the datafile applied before \(revision 1, at .*\) keeps deciding/);
        writeDatafile(s.datafile, [{ key: 'catalog_flag', everyoneElse: 'complete' }], 2);
        await until(async () => (await readyz(s)).status === 'ready', 'the fixed datafile to apply');
        await accounted(s, {
          answers: each([first, kept, await send(s.proxy.trafficUrl, 'GET /products/1')], passed(200, document('1'))),
          requests: [[read('complete', 'new', '2xx'), 3]],
          counters: { cutover_flag_decisions_total: [[{ source: 'optimizely', stage: 'complete' }, 3]], cutover_datafile_errors_total: [[{ reason }, 1]] },
        });
      });
    }

    for (const [what, failure] of [['answers 500', '500'], ['serves an invalid datafile', 'invalid'], ['resets the connection', 'reset']] as const) {
      it(`the CDN ${what} on a later poll: the last datafile fetched keeps deciding`, async () => {
        const optimizely = await cdn('valid');
        const s = await stack({ stage: 'legacy', flagsConfig: optimizely.flagsConfig });
        await until(() => fromOptimizely(s), 'the first datafile to decide');
        const first = await send(s.proxy.trafficUrl, 'GET /products/1');
        optimizely.set(failure);
        // The second failed poll began after the first one's answer was dealt with.
        await until(() => optimizely.fetched.filter((answer) => answer === failure).length >= 2, 'two failed polls');
        assert.ok(await fromOptimizely(s), JSON.stringify(await decided(s)));
        await accounted(s, {
          answers: each([first, await send(s.proxy.trafficUrl, 'GET /products/1')], passed(200, document('1'))),
          requests: [[read('complete', 'new', '2xx'), 2]],
          counters: { cutover_flag_decisions_total: [[{ source: 'optimizely', stage: 'complete' }, 2]] },
        });
      });
    }
  });

  describe('clients', () => {
    it('one leaves before any response: counted aborted, and legacy\'s exchange is cancelled', async () => {
      const s = await stack({ stage: 'legacy' });
      const socket = await client(s, request('GET /products/hang', { close: false }));
      await until(() => hits.length === 1, 'legacy to hold the request');
      socket.destroy();
      await accounted(s, { answers: [], requests: [[read('legacy', 'legacy', 'aborted'), 1]] });
      await until(() => cancelled.includes('/products/hang'), 'the exchange with legacy cancelled');
    });

    it('one leaves with two requests pipelined, both held by legacy: both counted aborted, both exchanges cancelled', async () => {
      const s = await stack({ stage: 'legacy' });
      const socket = await client(s, Buffer.concat([request('GET /products/hang-a', { close: false }), request('GET /products/hang-b', { close: false })]));
      await until(() => hits.length === 2, 'legacy to hold both requests');
      socket.destroy();
      await accounted(s, { answers: [], requests: [[read('legacy', 'legacy', 'aborted'), 2]] });
      await until(() => cancelled.length === 2, 'both exchanges with legacy cancelled');
    });

    it('ten leave before legacy answers, more than the shadow pool holds: every slot is freed, comparing goes on', async () => {
      const s = await stack({ stage: 'shadow', extra: { shadow: { maxInFlight: 4 } } });
      const leavers = 10;
      await Promise.all(Array.from({ length: leavers }, async (_, i) => {
        const socket = await client(s, request(`GET /products/hang-${i}`, { close: false }));
        await until(() => hits.some((hit) => hit.url === `/products/hang-${i}`), `legacy to hold request ${i}`);
        socket.destroy();
      }));
      await accounted(s, {
        answers: [[await send(s.proxy.trafficUrl, 'GET /products/1'), passed(200, document('1'))]],
        requests: [[read('shadow', 'legacy', 'aborted'), leavers], [read('shadow', 'legacy', '2xx'), 1]],
        counters: { cutover_comparisons_total: [[{ verdict: 'match' }, 1]], cutover_shadow_skipped_total: [[{}, leavers]] },
      });
    });

    it('150 from 12 connections at once, every third leaving before its answer, with a slow shadow side: every shadow settles, every request counted', async () => {
      const s = await stack({ stage: 'shadow', fn: 'slow', extra: { shadow: { maxInFlight: 8 } } });
      const total = 150;
      const answers: Answer[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < total; i = next++) {
          if (i % 3 !== 0) {
            answers.push(await send(s.proxy.trafficUrl, `GET /products/${i}`));
            continue;
          }
          const socket = await client(s, request(`GET /products/hang-${i}`, { close: false }));
          await until(() => hits.some((hit) => hit.url === `/products/hang-${i}`), `legacy to hold request ${i}`);
          socket.destroy();
        }
      };
      await Promise.all(Array.from({ length: 12 }, worker));
      await accounted(s, {
        answers: each(answers, passed(200)),
        requests: [[read('shadow', 'legacy', 'aborted'), total / 3], [read('shadow', 'legacy', '2xx'), total - total / 3]],
      });
      assert.ok((await verdicts(s, 'match')) > 0, 'some requests were compared');
    });

    for (const [stage, servedBy] of [['shadow', 'legacy'], ['live', 'new']] as const) {
      it(`one leaves in the middle of its upload on a mirrored route, ${servedBy} answering: counted aborted, its shadow skipped, no side sees a partial body`, async () => {
        const s = await stack({ stage, group: { shadow: { writes: 'dry-run' } } });
        const socket = await client(s, Buffer.from('POST /products HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 1000\r\n\r\n{"partial":'));
        await until(async () => samplesWith(await s.metrics(), 'cutover_flag_decisions_total').length === 1, 'the proxy to plan the request');
        socket.destroy();
        await accounted(s, {
          answers: [],
          requests: [[written(stage, servedBy, 'aborted'), 1]],
          counters: { cutover_shadow_skipped_total: [[{ reason: 'client_aborted' }, 1]] },
        });
        assert.equal(hits.length + invocations.length, 0, 'no side saw a partial body');
        assert.ok(!s.logs.some((line) => line.includes('"level":50')), 'a client leaving is not a proxy error');
      });
    }

    it('one leaves in the middle of its response: counted with the status it got, legacy\'s exchange cancelled, its shadow not compared', async () => {
      const s = await stack({ stage: 'shadow' });
      const socket = await client(s, request('GET /products/stall-body', { close: false }));
      await once(socket, 'data');
      socket.destroy();
      await accounted(s, {
        answers: [],
        requests: [[read('shadow', 'legacy', '2xx'), 1]],
        counters: { cutover_shadow_skipped_total: [[{ reason: 'client_aborted' }, 1]] },
      });
      await until(() => cancelled.includes('/products/stall-body'), 'the exchange with legacy cancelled');
    });

    it('one leaves while the new side is failing, where legacy would have answered the read: counted aborted, no fallback', async () => {
      const s = await stack({ stage: 'complete', fn: 'failsLate', group: { fallback: true } });
      const socket = await client(s, request('GET /products/1', { close: false }));
      await until(() => held.length === 1, 'the function to be invoked');
      socket.destroy();
      // The proxy notices the client left on its next read of the socket; then the function fails.
      await sleep(50);
      release();
      await accounted(s, {
        answers: [],
        requests: [[read('complete', 'new', 'aborted'), 1]],
        counters: { cutover_fallbacks_total: [[{}, 0]] },
      });
      assert.deepEqual(hits, [], 'legacy was not asked');
    });

    it('a hundred stop in the middle of their headers (slowloris): another is still served, and they are no request', async () => {
      const s = await stack({ stage: 'legacy' });
      const slow = await Promise.all(Array.from({ length: 100 }, () => client(s, Buffer.from('GET /products/1 HTTP/1.1\r\nHost: shop.example\r\nX-Slow: a'))));
      const answer = await send(s.proxy.trafficUrl, 'GET /products/2');
      for (const socket of slow) socket.destroy();
      await accounted(s, { answers: [[answer, passed(200, document('2'))]], requests: [[read('legacy', 'legacy', '2xx'), 1]] });
      assert.deepEqual(hits.map((hit) => hit.url), ['/products/2']);
    });

    it('slow uploads and Expect: 100-continue requests with no body, twice the legacy pool: a plain GET is still served', async () => {
      const s = await stack({ stage: 'legacy', extra: { legacy: { url: legacy.url, timeoutMs: 1_000, connections: 4 } } });
      const head = (expect: boolean) => Buffer.from(`POST /products HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 1000000\r\n${expect ? 'Expect: 100-continue\r\n' : ''}\r\n`);
      const uploads = await Promise.all([
        ...Array.from({ length: 4 }, () => client(s, Buffer.concat([head(false), Buffer.from('0123456789')]))),
        ...Array.from({ length: 4 }, () => client(s, head(true))),
      ]);
      await until(async () => sampleAll(await s.metrics(), 'cutover_flag_decisions_total', {}) === 8, 'the proxy to plan all eight uploads');
      // The eight are still open: the GET is answered while they hold what they hold.
      const answer = await send(s.proxy.trafficUrl, 'GET /products/1');
      for (const upload of uploads) upload.destroy();
      await accounted(s, {
        answers: [[answer, passed(200, document('1'))]],
        requests: [[read('legacy', 'legacy', '2xx'), 1], [written('legacy', 'legacy', 'aborted'), 8]],
      });
    });

    it('more uploads streaming slowly past legacy.bufferBodyBytes than the pool holds: beyond legacy.streamedShare 503 legacy_busy, unforwarded; a plain GET is still served', async () => {
      const heads: string[] = [];
      const streamed = closing(await listen((req, res) => {
        heads.push(req.url ?? '');
        req.resume().on('end', () => res.end('read'));
      }));
      const s = await stack({
        stage: 'legacy', legacyUrl: streamed.url,
        extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 0, bodyIdleMs: 300 }, legacy: { url: streamed.url, timeoutMs: 1_000, connections: 4, bufferBodyBytes: 1024, streamedShare: 0.5 } },
      });
      const started = Buffer.concat([Buffer.from('POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 100000\r\n\r\n'), Buffer.alloc(2048, 0x61)]);
      const uploads = await Promise.all(Array.from({ length: 5 }, () => client(s, started)));
      const refusals = uploads.map(async (upload) => {
        let text = '';
        upload.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
        await once(upload, 'close');
        return text;
      });
      await until(async () => heads.length === 2 && sampleAll(await s.metrics(), 'cutover_requests_total', {}) === 3, 'two uploads streaming and three refused');
      const answer = await send(s.proxy.trafficUrl, 'GET /products/1');
      // The two streaming stall past bodyIdleMs too; the refused ones' bodies must not outlive their answers.
      const texts = await Promise.all(refusals);
      const refused = texts.filter((text) => text.startsWith('HTTP/1.1 503'));
      assert.equal(refused.length, 3);
      for (const text of refused) assert.match(text, /\r\nconnection: close\r\n[\s\S]*"code":"legacy_busy"/i);
      assert.equal(texts.filter((text) => text.startsWith('HTTP/1.1 408')).length, 2);
      await accounted(s, {
        answers: [[answer, passed(200, 'read')]],
        requests: [[read('legacy', 'legacy', '2xx'), 1], [unmatched('5xx'), 3], [unmatched('4xx'), 2]],
      });
      assert.equal(heads.length, 3, 'the two streaming, and the GET');
    });

    it('stops sending its body for traffic.bodyIdleMs before it was forwarded (Expect: 100-continue, or mid-body): 408 body_timeout, legacy never asked', async () => {
      const s = await stack({ stage: 'legacy', extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 0, bodyIdleMs: 200 } } });
      const expecting = await sendBytes(s.proxy.trafficUrl, Buffer.from('POST /products HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n'));
      const halfway = await sendBytes(s.proxy.trafficUrl, Buffer.from('POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 10\r\n\r\n01234'));
      for (const answer of [expecting, halfway]) assert.equal(answer.headers.connection, 'close');
      await accounted(s, {
        answers: [[expecting, problem(408, 'body_timeout')], [halfway, problem(408, 'body_timeout')]],
        requests: [[written('legacy', 'legacy', '4xx'), 1], [unmatched('4xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{}, 0]] },
      });
      assert.deepEqual(hits, []);
    });

    it('stops sending its body for traffic.bodyIdleMs on a route the new side answers: 408 body_timeout, nothing invoked', async () => {
      const s = await stack({ stage: 'complete', extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 0, bodyIdleMs: 200 } } });
      await accounted(s, {
        answers: [[await sendBytes(s.proxy.trafficUrl, Buffer.from('POST /products HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 10\r\n\r\n01234')), problem(408, 'body_timeout')]],
        requests: [[written('complete', 'new', '4xx'), 1]],
      });
      assert.equal(invocations.length + hits.length, 0);
    });

    it('stops sending its body for traffic.bodyIdleMs after legacy.bufferBodyBytes were forwarded: the exchange with legacy cut, 408 body_timeout', async () => {
      const heads: string[] = [];
      const aborted: string[] = [];
      const waiting = closing(await listen((req) => {
        heads.push(req.url ?? '');
        req.resume();
        req.on('close', () => { if (!req.complete) aborted.push(req.url ?? ''); });
      }));
      const s = await stack({ stage: 'legacy', legacyUrl: waiting.url, extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 0, bodyIdleMs: 200 }, legacy: { url: waiting.url, bufferBodyBytes: 1024 } } });
      const answer = await sendBytes(s.proxy.trafficUrl, Buffer.concat([Buffer.from('POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 100000\r\n\r\n'), Buffer.alloc(2048, 0x61)]));
      await accounted(s, {
        answers: [[answer, problem(408, 'body_timeout')]],
        requests: [[unmatched('4xx'), 1]],
        counters: { cutover_upstream_errors_total: [[{}, 0]] },
      });
      await until(() => aborted.length === 1, 'the exchange with legacy cut');
      assert.deepEqual(heads, ['/upload']);
    });

    it('sends its body at once while legacy takes longer than traffic.bodyIdleMs to read it: no 408, the pause is legacy\'s', async () => {
      const slowReader = closing(await listen((req, res) => {
        let bytes = 0;
        req.pause();
        setTimeout(() => req.on('data', (chunk: Buffer) => { bytes += chunk.length; }).on('end', () => res.end(`read ${bytes}`)).resume(), 600);
      }));
      const s = await stack({ stage: 'legacy', legacyUrl: slowReader.url, extra: { traffic: { host: '127.0.0.1', port: 0, drainMs: 0, bodyIdleMs: 200 }, legacy: { url: slowReader.url, bufferBodyBytes: 1024 } } });
      const body = Buffer.alloc(16 * 1024 * 1024, 0x61);
      await accounted(s, {
        answers: [[await sendBytes(s.proxy.trafficUrl, request('POST /upload', { body }), 10_000), passed(200, `read ${body.length}`)]],
        requests: [[unmatched('2xx'), 1]],
      });
    });

    it('one pipelines four requests, one failing upstream and one refused among them: answered in order, each counted once', async () => {
      const s = await stack({ stage: 'legacy' });
      const pipelined = Buffer.concat([
        request('GET /products/1', { close: false }),
        request('GET /products/reset', { close: false }),
        request('OPTIONS *', { close: false }),
        request('GET /products/2'),
      ]);
      const answers = await exchange(s.proxy.trafficUrl, pipelined);
      assert.equal(answers.length, 4, JSON.stringify(answers));
      const [first, reset, refused, last] = answers;
      await accounted(s, {
        answers: [[first, passed(200, document('1'))], [reset, problem(502, 'reset')], [refused, problem(400, 'bad_request_target')], [last, passed(200, document('2'))]],
        requests: [[read('legacy', 'legacy', '2xx'), 2], [read('legacy', 'legacy', '5xx'), 1], [unmatched('4xx'), 1]],
      });
      // Node reads pipelined requests ahead, so the proxy forwards them at once: only the answers keep the order.
      assert.deepEqual(hits.map((hit) => hit.url).sort(), ['/products/1', '/products/2', '/products/reset'], 'each forwarded on its own');
    });
  });

  describe('bad input', () => {
    const REFUSED: ReadonlyArray<{ what: string; bytes: Buffer; status: number; code: string }> = [
      { what: 'both Content-Length and Transfer-Encoding', bytes: Buffer.from('POST /products HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc'), status: 400, code: 'bad_request' },
      { what: 'a chunk size that is not hexadecimal', bytes: Buffer.from('POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'), status: 400, code: 'bad_request' },
      { what: 'a header flood (a 20 KB header)', bytes: request('GET /products/1', { headers: { 'X-Flood': 'a'.repeat(20_000) } }), status: 431, code: 'bad_request' },
      { what: 'a 64 KB URL', bytes: request(`GET /${'a'.repeat(64 * 1024)}`), status: 431, code: 'bad_request' },
      { what: 'an absolute-form target', bytes: request('GET http://evil.example/products/1'), status: 400, code: 'bad_request_target' },
      { what: 'CONNECT', bytes: request('CONNECT evil.example:443'), status: 400, code: 'bad_request_target' },
      { what: 'a protocol upgrade', bytes: request('GET /ws', { headers: { Connection: 'upgrade', Upgrade: 'websocket' }, close: false }), status: 400, code: 'bad_request_target' },
      { what: 'a transfer coding other than chunked', bytes: request('POST /upload', { headers: { 'Transfer-Encoding': 'gzip, chunked' }, body: chunked(['ab']) }), status: 501, code: 'unsupported_transfer_coding' },
    ];
    for (const refused of REFUSED) {
      it(`${refused.what}: ${refused.status} ${refused.code}, counted unmatched, nothing forwarded`, async () => {
        const s = await stack({ stage: 'legacy' });
        await accounted(s, { answers: [[await sendBytes(s.proxy.trafficUrl, refused.bytes), problem(refused.status, refused.code)]], requests: [[unmatched(`${String(refused.status)[0]}xx`), 1]] });
        assert.deepEqual(hits, []);
      });
    }

    for (const contentType of ['application/octet-stream', 'application/json']) {
      it(`a body that is not valid UTF-8 (${contentType}), mirrored: both sides get it byte for byte`, async () => {
        const s = await stack({ stage: 'shadow', group: { shadow: { writes: 'dry-run' } } });
        const invalid = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
        await accounted(s, {
          answers: [[await send(s.proxy.trafficUrl, 'POST /products', { headers: { 'Content-Type': contentType }, body: invalid }), passed(201, document('new'))]],
          requests: [[written('shadow', 'legacy', '2xx'), 1]],
          counters: { cutover_comparisons_total: [[{ verdict: 'match' }, 1]] },
        });
        assert.deepEqual(hits.map((hit) => hit.body), [invalid], 'legacy got the bytes sent');
        const [event] = invocations;
        assert.ok(event, 'the shadow invocation');
        assert.deepEqual(Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'), invalid, `the new side got the bytes sent; its event: ${JSON.stringify({ body: event.body, isBase64Encoded: event.isBase64Encoded })}`);
      });
    }

    it('a 20 MB chunked upload on a mirrored route, legacy answering: streamed whole, counted too large to mirror', async () => {
      const s = await stack({ stage: 'shadow', group: { shadow: { writes: 'dry-run' } } });
      const piece = Buffer.alloc(1024 * 1024, 0x61);
      const answer = await sendBytes(s.proxy.trafficUrl, request('POST /products', { headers: { 'Transfer-Encoding': 'chunked' }, body: chunked(Array.from({ length: 20 }, () => piece)) }), 10_000);
      await accounted(s, {
        answers: [[answer, passed(201, document('new'))]],
        requests: [[written('shadow', 'legacy', '2xx'), 1]],
        counters: { cutover_shadow_skipped_total: [[{ reason: 'body_too_large' }, 1]] },
      });
      assert.equal(hits[0]?.body.length, 20 * 1024 * 1024);
      assert.equal(hits[0]?.headers['content-length'], undefined, 'sent chunked, as received');
      assert.equal(invocations.length, 0, 'not mirrored');
    });

    it('a 20 MB upload on a mirrored route, the new side answering: 413 too_large before invoking, counted too large to mirror', async () => {
      const s = await stack({ stage: 'live', group: { shadow: { writes: 'dry-run' } } });
      const answer = await sendBytes(s.proxy.trafficUrl, request('POST /products', { body: Buffer.alloc(20 * 1024 * 1024, 0x61) }), 10_000);
      await accounted(s, {
        answers: [[answer, problem(413, 'too_large')]],
        requests: [[written('live', 'new', '4xx'), 1]],
        counters: { cutover_shadow_skipped_total: [[{ reason: 'body_too_large' }, 1]] },
      });
      assert.equal(hits.length + invocations.length, 0, 'neither side was sent it');
    });

    it('a 7 MB chunked upload, the new side answering: 413 too_large once 6 MB have come, with Connection: close, nothing invoked', async () => {
      const s = await stack({ stage: 'complete' });
      const piece = Buffer.alloc(1024 * 1024, 0x61);
      const answer = await sendBytes(s.proxy.trafficUrl, request('POST /products', { headers: { 'Transfer-Encoding': 'chunked' }, body: chunked(Array.from({ length: 7 }, () => piece)) }), 10_000);
      assert.equal(answer.headers.connection, 'close');
      await accounted(s, { answers: [[answer, problem(413, 'too_large')]], requests: [[written('complete', 'new', '4xx'), 1]] });
      assert.equal(hits.length + invocations.length, 0, 'neither side was sent it');
    });

    it('a chunked body with a Trailer header and trailers: forwarded whole, without the trailers, which are one hop\'s', async () => {
      const s = await stack({ stage: 'legacy' });
      const answer = await send(s.proxy.trafficUrl, 'POST /products', { headers: { 'Transfer-Encoding': 'chunked', Trailer: 'x-checksum' }, body: chunked(['hello'], ['x-checksum: abc']) });
      await accounted(s, { answers: [[answer, passed(201, document('new'))]], requests: [[written('legacy', 'legacy', '2xx'), 1]] });
      assert.deepEqual(hits.map((hit) => [hit.body.toString(), hit.trailers]), [['hello', {}]]);
    });
  });
});
