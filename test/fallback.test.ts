import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker, type CircuitState } from '../proxy/circuit.js';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';

describe('CircuitBreaker', () => {
  let clock = 0;
  let changes: CircuitState[] = [];
  const breaker = () => {
    clock = 0;
    changes = [];
    return new CircuitBreaker({ failures: 3, openMs: 1_000 }, (state) => changes.push(state), () => clock);
  };

  it('opens after the configured failures in a row, not after scattered ones', () => {
    const circuit = breaker();
    circuit.failure();
    circuit.failure();
    circuit.success();
    circuit.failure();
    circuit.failure();
    assert.equal(circuit.state, 'closed');
    circuit.failure();
    assert.equal(circuit.state, 'open');
    assert.equal(circuit.permit(), false);
  });

  it('lets one probe through once open long enough, and closes when it succeeds', () => {
    const circuit = breaker();
    for (let i = 0; i < 3; i++) circuit.failure();
    clock = 999;
    assert.equal(circuit.permit(), false);
    clock = 1_000;
    assert.equal(circuit.permit(), true);
    assert.equal(circuit.state, 'half_open');
    assert.equal(circuit.permit(), false, 'only one probe at a time');
    circuit.success();
    assert.equal(circuit.state, 'closed');
    assert.deepEqual(changes, ['open', 'half_open', 'closed']);
  });

  it('opens again at once when the probe fails', () => {
    const circuit = breaker();
    for (let i = 0; i < 3; i++) circuit.failure();
    clock = 1_000;
    assert.equal(circuit.permit(), true);
    circuit.failure();
    assert.equal(circuit.state, 'open');
    clock = 1_500;
    assert.equal(circuit.permit(), false);
  });
});

describe('fallback to legacy and the circuit breaker, through the proxy', function () {
  this.timeout(20_000);
  let legacy: TestServer;
  let stack: TestProxy;
  let failing = true;
  let invocations = 0;

  before(async () => {
    legacy = await listen((req, res) => { req.resume(); req.on('end', () => res.end(`legacy ${req.method}`)); });
    stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {
        orders: {
          handler: async () => {
            invocations += 1;
            if (failing) throw new Error('database unavailable');
            return { statusCode: 200, body: 'new' };
          },
        },
        reports: { handler: async () => ({ statusCode: 500, body: 'broken' }) },
      },
      groups: {
        orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders', 'POST /orders'], circuit: { failures: 2, openMs: 200 } },
        reports: { flag: 'reports_flag', function: 'reports', routes: ['GET /reports'], fallback: false },
      },
      flags: [{ key: 'orders_flag', everyoneElse: 'live' }, { key: 'reports_flag', everyoneElse: 'complete' }],
    });
  });

  after(async () => {
    await stack?.close();
    await legacy?.close();
  });

  const get = (path: string, init: RequestInit = {}) => fetch(`${stack.proxy.trafficUrl}${path}`, { ...init, headers: { 'x-customer-id': 'c1', ...init.headers } });
  const circuitOf = async (group: string) => {
    const body = await (await fetch(`${stack.proxy.adminUrl}/api/groups`)).json() as { groups: Array<{ name: string; circuit: string }> };
    return body.groups.find((entry) => entry.name === group)?.circuit;
  };

  it('serves a failed idempotent request from legacy and counts the fallback; never a write', async () => {
    const read = await get('/orders');
    assert.equal(read.status, 200);
    assert.equal(await read.text(), 'legacy GET');
    const write = await get('/orders', { method: 'POST', body: '{}' });
    assert.equal(write.status, 502, 'a write is never retried on legacy');
    await write.text();
    const metrics = await stack.metrics();
    assert.equal(sample(metrics, 'cutover_fallbacks_total', { group: 'orders', reason: 'function_error' }), 1);
    assert.equal(sample(metrics, 'cutover_requests_total', { group: 'orders', route: 'GET /orders', stage: 'live', served_by: 'legacy', status_class: '2xx' }), 1);
    assert.equal(sample(metrics, 'cutover_requests_total', { group: 'orders', route: 'POST /orders', stage: 'live', served_by: 'new', status_class: '5xx' }), 1);
  });

  it('opens the circuit after consecutive failures, then answers from legacy without invoking', async () => {
    assert.equal(await circuitOf('orders'), 'open');
    assert.equal(sample(await stack.metrics(), 'cutover_circuit_state', { group: 'orders' }), 2);
    const before = invocations;
    const read = await get('/orders');
    assert.equal(await read.text(), 'legacy GET');
    assert.equal(invocations, before, 'an open circuit does not invoke');
    assert.equal(sample(await stack.metrics(), 'cutover_fallbacks_total', { group: 'orders', reason: 'circuit_open' }), 1);
    const write = await get('/orders', { method: 'POST', body: '{}' });
    assert.equal(write.status, 503);
    assert.ok(write.headers.get('retry-after'));
  });

  it('probes half-open after openMs and closes once the new side answers', async () => {
    failing = false;
    await sleep(250);
    const read = await get('/orders');
    assert.equal(await read.text(), 'new');
    assert.equal(await circuitOf('orders'), 'closed');
    assert.equal(sample(await stack.metrics(), 'cutover_circuit_state', { group: 'orders' }), 0);
  });

  it('passes a 5xx answer through when the group does not allow fallback', async () => {
    const response = await get('/reports');
    assert.equal(response.status, 500);
    assert.equal(await response.text(), 'broken');
    assert.equal(sample(await stack.metrics(), 'cutover_fallbacks_total', { group: 'reports', reason: 'status_5xx' }), 0);
  });
});
