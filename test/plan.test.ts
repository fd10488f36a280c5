import assert from 'node:assert/strict';
import { parseConfig } from '../proxy/config/config.js';
import type { Decision, Flags } from '../proxy/decision/flags.js';
import { Metrics } from '../proxy/telemetry/metrics.js';
import { RouteTable } from '../proxy/config/route.js';
import type { Stage } from '../proxy/decision/stage.js';
import type { Inbound } from '../proxy/http/request.js';
import { type PlanDependencies, planOf } from '../proxy/traffic/plan.js';

const config = parseConfig({
  legacy: { url: 'http://127.0.0.1:1' },
  flags: { datafile: 'datafile.json' },
  caller: { header: 'x-customer-id' },
  groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}', 'POST /products'], shadow: { percent: 50 } } },
}, '/', {});

function dependencies(stage: Stage, options: { poolFull?: boolean; chance?: number } = {}): PlanDependencies & { metrics: Metrics } {
  const decision = (group: string, caller: string): Decision => ({ group, caller, stage, source: 'optimizely', flag: 'catalog_flag', variation: stage, rule: 'r', reasons: [], shadowPercent: undefined });
  return {
    config,
    routes: new RouteTable(config.groups.flatMap((group) => group.routes), config.routing),
    groups: new Map(config.groups.map((group) => [group.name, group])),
    flags: { decide: decision } as unknown as Flags,
    metrics: new Metrics(),
    poolFull: () => options.poolFull ?? false,
    random: () => options.chance ?? 0.1,
  };
}

const request = (method: string, path: string, headers: Record<string, string> = { 'x-customer-id': 'alice' }): Inbound =>
  ({ method, target: path, path, requestId: 'req-00000001', headers, framing: { kind: 'none' }, httpVersion: '1.1', sourceIp: '127.0.0.1', receivedAt: 0 });

describe('the plan: route, caller, decide, count the decision, choose shadow', () => {
  it('is undefined for a path no route matches, which legacy serves untouched', () => {
    assert.equal(planOf(request('GET', '/other'), dependencies('shadow')), undefined);
  });

  it('routes, names the caller, decides its stage and counts the decision', async () => {
    const deps = dependencies('live');
    const plan = planOf(request('GET', '/products/7'), deps);
    assert.deepEqual([plan?.match.route.key, plan?.match.params, plan?.caller.id, plan?.decision.stage, plan?.side], ['GET /products/{id}', { id: '7' }, 'alice', 'live', 'new']);
    assert.match(await deps.metrics.registry.metrics(), /cutover_flag_decisions_total\{group="catalog",stage="live",source="optimizely"\} 1/);
  });

  it('asks flags to remember the decision for a returning caller, not for one it has just named', () => {
    const asked: Array<{ caller: string; remember: boolean | undefined }> = [];
    const deps = { ...dependencies('legacy'), flags: { decide: (group: string, caller: string, options?: { remember?: boolean }) => { asked.push({ caller, remember: options?.remember }); return dependencies('legacy').flags.decide(group, caller); } } as unknown as Flags };
    planOf(request('GET', '/products/7'), deps);
    const minted = planOf(request('GET', '/products/7', {}), deps);
    assert.deepEqual(asked, [{ caller: 'alice', remember: true }, { caller: minted?.caller.id ?? '', remember: false }]);
    assert.ok(minted?.caller.setCookie, 'a new caller gets its id in a cookie');
  });

  it('chooses no shadow in stages that compare nothing', () => {
    for (const stage of ['legacy', 'complete'] as const) assert.equal(planOf(request('GET', '/products/7'), dependencies(stage))?.shadow, undefined, stage);
  });

  it('asks the configured share first, then what the proxy can afford: the pool (the breaker is asked when the shadow is sent)', () => {
    const get = request('GET', '/products/7');
    assert.equal(planOf(get, dependencies('shadow'))?.shadow, 'send');
    assert.equal(planOf(get, dependencies('shadow', { chance: 0.9 }))?.shadow, 'sampled_out', 'outside the 50 % share');
    assert.equal(planOf(get, dependencies('shadow', { chance: 0.9, poolFull: true }))?.shadow, 'sampled_out', 'the share is the user\'s intent, counted first');
    assert.equal(planOf(get, dependencies('shadow', { poolFull: true }))?.shadow, 'capacity');
    assert.equal(planOf(request('POST', '/products'), dependencies('shadow'))?.shadow, 'unsafe_method', 'writes only in dry-run groups');
  });
});
