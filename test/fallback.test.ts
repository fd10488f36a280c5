import assert from 'node:assert/strict';
import { CircuitBreaker, type CircuitState } from '../proxy/backends/circuit.js';
import { sample, sampleAll } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

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
  let stack: TestProxy | undefined;
  let failing: boolean;
  let invocations: number;

  before(async () => {
    legacy = await listen((req, res) => { req.resume(); req.on('end', () => res.end(`legacy ${req.method}`)); });
  });

  beforeEach(() => {
    failing = true;
    invocations = 0;
  });

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  after(async () => {
    await legacy?.close();
  });

  /** A proxy of its own for each test, whose orders breaker opens after two failures for `openMs`. */
  async function start(openMs: number): Promise<TestProxy> {
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
        orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders', 'POST /orders'], circuit: { failures: 2, openMs } },
        reports: { flag: 'reports_flag', function: 'reports', routes: ['GET /reports'], fallback: false },
      },
      flags: [{ key: 'orders_flag', everyoneElse: 'live' }, { key: 'reports_flag', everyoneElse: 'complete' }],
    });
    return stack;
  }

  const get = (s: TestProxy, path: string, init: RequestInit = {}) => fetch(`${s.proxy.trafficUrl}${path}`, { ...init, headers: { 'x-customer-id': 'c1', ...init.headers } });
  const circuitOf = async (s: TestProxy, group: string) => {
    const body = await (await fetch(`${s.proxy.adminUrl}/api/groups`)).json() as { groups: Array<{ name: string; circuit: string }> };
    const entry = body.groups.find((candidate) => candidate.name === group);
    assert.ok(entry, `group ${group} is listed by /api/groups`);
    return entry.circuit;
  };
  /** Two failed reads, each answered by legacy: the breaker opens. */
  const open = async (s: TestProxy) => {
    for (let i = 0; i < 2; i++) assert.equal(await (await get(s, '/orders')).text(), 'legacy GET', 'a failed read is served by legacy');
    assert.equal(invocations, 2);
    assert.equal(await circuitOf(s, 'orders'), 'open');
  };

  it('opens the circuit after consecutive failures, then answers from legacy without invoking', async () => {
    // openMs is far longer than the test, so the breaker cannot turn half-open while it runs.
    const s = await start(60_000);
    assert.equal(await (await get(s, '/orders')).text(), 'legacy GET');
    assert.equal(await circuitOf(s, 'orders'), 'closed', 'one failure is not enough');
    assert.equal(sample(await s.metrics(), 'cutover_circuit_state', { group: 'orders' }), 0);
    assert.equal(await (await get(s, '/orders')).text(), 'legacy GET');
    assert.equal(await circuitOf(s, 'orders'), 'open');
    assert.equal(sample(await s.metrics(), 'cutover_circuit_state', { group: 'orders' }), 2);
    assert.equal(invocations, 2);

    const read = await get(s, '/orders');
    assert.equal(await read.text(), 'legacy GET');
    assert.equal(invocations, 2, 'an open circuit does not invoke');
    assert.equal(sample(await s.metrics(), 'cutover_fallbacks_total', { group: 'orders', reason: 'circuit_open' }), 1);
    const write = await get(s, '/orders', { method: 'POST', body: '{}' });
    assert.equal(write.status, 503);
    assert.equal(write.headers.get('retry-after'), '60', 'openMs in seconds');
    await write.text();
    assert.equal(invocations, 2);
  });

  it('probes half-open after openMs and closes once the new side answers', async () => {
    const s = await start(100);
    await open(s);
    failing = false;
    // Until openMs has passed, every read is answered by legacy without invoking; the first read
    // after it is the probe, which reaches the new side. No guess at how long that takes.
    await until(async () => (await (await get(s, '/orders')).text()) === 'new', 'a read to be answered by the new side (the half-open probe)');
    assert.equal(invocations, 3, 'the two failures and the one probe');
    assert.equal(await circuitOf(s, 'orders'), 'closed');
    assert.equal(sample(await s.metrics(), 'cutover_circuit_state', { group: 'orders' }), 0);
    assert.equal(await (await get(s, '/orders')).text(), 'new', 'closed again: reads go to the new side');
    assert.equal(invocations, 4);
  });

  it('passes a 5xx answer through when the group does not allow fallback', async () => {
    const s = await start(60_000);
    const response = await get(s, '/reports');
    assert.equal(response.status, 500);
    assert.equal(await response.text(), 'broken');
    const metrics = await s.metrics();
    assert.equal(sample(metrics, 'cutover_requests_total', { group: 'reports', route: 'GET /reports', stage: 'complete', served_by: 'new', status_class: '5xx' }), 1);
    assert.equal(sampleAll(metrics, 'cutover_fallbacks_total', { group: 'reports' }), 0, 'no fallback of any reason');
  });
});
