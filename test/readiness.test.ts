import assert from 'node:assert/strict';
import { type Group, parseConfig } from '../proxy/config/config.js';
import type { GroupEvidence } from '../proxy/store/database.js';
import { type ReadinessCheck, type ReadinessEvidence, readinessOf, type RouteEvidence } from '../proxy/review/readiness.js';
import { summarise } from '../proxy/review/summary.js';

/**
 * Every readiness check at its boundary: the figure just in passes, just out fails, and the
 * verdict follows. Breaking any one check in review/readiness.ts (or its inputs in summary.ts)
 * fails one of these.
 */
function groupOf(spec: Record<string, unknown>): Group {
  const config = parseConfig({
    legacy: { url: 'http://127.0.0.1:1' },
    flags: { datafile: 'datafile.json' },
    groups: { orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders/{id}', 'POST /orders'], ...spec } },
  }, '/', {});
  return config.groups[0] as Group;
}

const thresholds = groupOf({ readiness: { minComparisons: 100, minRouteComparisons: 10, maxMismatchRate: 0.01, maxErrorRateIncrease: 0.001, maxLatencyIncrease: 0.2, latencyConfidence: 0.98, minLatencySamples: 100, maxLostShare: 0.05 } }).readiness;

/** 1,000 answers in (15, 20] ms: each side's unless a test moves them. */
const FAST = [{ leMs: 20, count: 1_000 }];

function route(overrides: Partial<RouteEvidence> = {}): RouteEvidence {
  return { route: 'GET /orders/{id}', requests: 1_000, comparisons: 1_000, unmirrored: undefined, skipped: {}, lost: {}, ...overrides };
}

/** Evidence that passes every check with room to spare; each test moves one figure to its boundary. */
function evidence(overrides: Partial<ReadinessEvidence> = {}): ReadinessEvidence {
  return {
    comparisons: 1_000,
    mismatches: 0,
    legacy: { answers: 1_000, errors: 0, latency: FAST },
    new: { answers: 1_000, errors: 0, latency: FAST },
    routes: [route()],
    ...overrides,
  };
}

function check(reasons: readonly ReadinessCheck[], name: ReadinessCheck['check']): ReadinessCheck {
  const found = reasons.filter((reason) => reason.check === name);
  assert.equal(found.length, 1, `one ${name} check in ${JSON.stringify(reasons)}`);
  return found[0] as ReadinessCheck;
}

describe('readiness: every check at its boundary', () => {
  it('is ready when every check passes, each one listed as passed', () => {
    const { verdict, reasons } = readinessOf(evidence(), thresholds);
    assert.equal(verdict, 'ready');
    assert.deepEqual(reasons.map((reason) => [reason.check, reason.ok]), [
      ['comparisons', true], ['route_coverage', true], ['mismatch_rate', true], ['error_rate', true], ['latency', true],
    ]);
  });

  it('comparisons: the minimum is enough, one fewer is insufficient data', () => {
    const atMinimum = readinessOf(evidence({ comparisons: 100, routes: [route({ comparisons: 100 })] }), thresholds);
    assert.equal(atMinimum.verdict, 'ready');
    assert.equal(check(atMinimum.reasons, 'comparisons').text, '100 comparisons in 24 h (≥ 100)');
    const under = readinessOf(evidence({ comparisons: 99, routes: [route({ comparisons: 99 })] }), thresholds);
    assert.equal(under.verdict, 'insufficient_data');
    assert.equal(check(under.reasons, 'comparisons').ok, false);
  });

  it('a route with traffic: its minimum of comparisons is enough, one fewer is insufficient data, named', () => {
    const routes = (comparisons: number) => [route({ comparisons: 1_000 - comparisons }), route({ route: 'GET /orders', requests: 50, comparisons })];
    const atMinimum = readinessOf(evidence({ routes: routes(10) }), thresholds);
    assert.equal(atMinimum.verdict, 'ready');
    const under = readinessOf(evidence({ routes: routes(9) }), thresholds);
    assert.equal(under.verdict, 'insufficient_data');
    assert.deepEqual(under.reasons.filter((reason) => !reason.ok), [{ check: 'route_coverage', ok: false, text: 'GET /orders: 9 of 50 requests compared (≥ 10)' }]);
  });

  it('a route with one request and no comparison is insufficient data; with no request it is not judged', () => {
    const unmirrored = 'writes are not mirrored (shadow.writes: off)';
    const one = readinessOf(evidence({ routes: [route(), route({ route: 'POST /orders', requests: 1, comparisons: 0, unmirrored })] }), thresholds);
    assert.equal(one.verdict, 'insufficient_data');
    assert.deepEqual(one.reasons.filter((reason) => !reason.ok), [{ check: 'route_coverage', ok: false, text: `POST /orders: 0 of 1 requests compared: ${unmirrored}` }]);
    const none = readinessOf(evidence({ routes: [route(), route({ route: 'POST /orders', requests: 0, comparisons: 0, unmirrored })] }), thresholds);
    assert.equal(none.verdict, 'ready');
    assert.equal(none.reasons.filter((reason) => reason.check === 'route_coverage').length, 1, 'only the route with traffic');
  });

  it('an exempt route is not judged, and says so with its reason', () => {
    const exempting = groupOf({ readiness: { minComparisons: 100, exempt: [{ route: 'POST  /orders', reason: 'legacy keeps the writes until Q3' }] } }).readiness;
    const { verdict, reasons } = readinessOf(evidence({ routes: [route(), route({ route: 'POST /orders', requests: 412, comparisons: 0, unmirrored: 'writes are not mirrored (shadow.writes: off)' })] }), exempting);
    assert.equal(verdict, 'ready');
    assert.deepEqual(check(reasons, 'exempt'), { check: 'exempt', ok: true, text: 'POST /orders: exempt (legacy keeps the writes until Q3); 0 of 412 requests compared' });
  });

  it('evidence lost: a share at the limit passes, above it is insufficient data, with the reasons counted', () => {
    const atLimit = readinessOf(evidence({ routes: [route({ comparisons: 98, skipped: { capacity: 2 }, lost: { store_down: 3 } })] }), thresholds);
    assert.equal(atLimit.verdict, 'ready');
    assert.deepEqual(check(atLimit.reasons, 'lost_evidence'), {
      check: 'lost_evidence', ok: true, text: 'GET /orders/{id}: evidence lost for 5 of 100 comparisons, 5 % (≤ 5 %): capacity 2, store_down 3',
    });
    const dropped = (lost: number) => readinessOf(evidence({ routes: [route({ comparisons: 1_000, lost: { store_down: lost } })] }), thresholds);
    assert.equal(dropped(50).verdict, 'ready');
    assert.equal(check(dropped(50).reasons, 'lost_evidence').text, 'GET /orders/{id}: evidence lost for 50 of 1,000 comparisons, 5 % (≤ 5 %): store_down 50');
    assert.equal(dropped(51).verdict, 'insufficient_data');
    assert.equal(check(dropped(51).reasons, 'lost_evidence').ok, false);
    const skipped = (capacity: number) => readinessOf(evidence({ routes: [route({ comparisons: 1_000 - capacity, skipped: { shadow_circuit_open: capacity } })] }), thresholds);
    assert.equal(skipped(50).verdict, 'ready', '50 skipped of 1,000 attempted');
    assert.equal(skipped(51).verdict, 'insufficient_data', '51 skipped of 1,000 attempted');
  });

  it('mismatch rate: at the limit ready, one more mismatch not ready', () => {
    assert.equal(readinessOf(evidence({ mismatches: 10 }), thresholds).verdict, 'ready');
    const over = readinessOf(evidence({ mismatches: 11 }), thresholds);
    assert.equal(over.verdict, 'not_ready');
    assert.deepEqual(over.reasons.filter((reason) => !reason.ok), [{ check: 'mismatch_rate', ok: false, text: 'mismatch rate 1.1 % (≤ 1 %), errors included' }]);
  });

  it('error rate: new at legacy\'s plus the allowance ready, one error more not ready', () => {
    const withErrors = (legacy: number, errors: number) => evidence({ legacy: { answers: 1_000, errors: legacy, latency: FAST }, new: { answers: 1_000, errors, latency: FAST } });
    assert.equal(readinessOf(withErrors(0, 1), thresholds).verdict, 'ready');
    assert.equal(readinessOf(withErrors(3, 4), thresholds).verdict, 'ready');
    const over = readinessOf(withErrors(0, 2), thresholds);
    assert.equal(over.verdict, 'not_ready');
    assert.deepEqual(over.reasons.filter((reason) => !reason.ok), [{ check: 'error_rate', ok: false, text: 'new error rate 0.2 % vs legacy 0 % (at most 0.1 % more)' }]);
  });

  it('latency: 64 of 100 answers a bucket slower is within 20 % at 98 % and ready, 65 not ready, with the judge\'s line', () => {
    // The latency judge's boundary (test/latency-judge.test.ts), through the verdict: 100 legacy answers in (15, 20] ms.
    const slower = (n: number) => evidence({
      legacy: { answers: 100, errors: 0, latency: [{ leMs: 20, count: 100 }] },
      new: { answers: 100, errors: 0, latency: [{ leMs: 20, count: 100 - n }, { leMs: 30, count: n }] },
    });
    const within = readinessOf(slower(64), thresholds);
    assert.equal(within.verdict, 'ready');
    assert.deepEqual(check(within.reasons, 'latency'), { check: 'latency', ok: true, text: 'new is not slower than legacy by more than 20 % (98 % confidence, n = 100 / 100)' });
    const over = readinessOf(slower(65), thresholds);
    assert.equal(over.verdict, 'not_ready');
    assert.deepEqual(over.reasons.filter((reason) => !reason.ok), [{ check: 'latency', ok: false, text: 'new is slower than legacy by more than 20 % (98 % confidence, n = 100 / 100)' }]);
  });

  it('latency: the minimum of answers a side is judged, one fewer is insufficient data, not a ratio of noisy p99s', () => {
    const few = (n: number) => evidence({ new: { answers: n, errors: 0, latency: [{ leMs: 20, count: n }] } });
    assert.equal(readinessOf(few(100), thresholds).verdict, 'ready');
    const under = readinessOf(few(99), thresholds);
    assert.equal(under.verdict, 'insufficient_data');
    assert.deepEqual(under.reasons.filter((reason) => !reason.ok), [{ check: 'latency', ok: false, text: 'latency: too few answers to judge (n = 99 / 1,000; at least 100 a side)' }]);
    const unmeasured = readinessOf(evidence({ legacy: { answers: 0, errors: 0, latency: [] } }), thresholds);
    assert.equal(unmeasured.verdict, 'insufficient_data');
    assert.equal(check(unmeasured.reasons, 'latency').text, 'latency: too few answers to judge (n = 1,000 / 0; at least 100 a side)');
  });

  it('latency: insufficient answers is insufficient data even when another check fails', () => {
    const both = readinessOf(evidence({ mismatches: 11, new: { answers: 50, errors: 0, latency: [{ leMs: 20, count: 50 }] } }), thresholds);
    assert.equal(both.verdict, 'insufficient_data');
  });
});

describe('readiness: what summary.ts and the configuration give it', () => {
  const counts = (total: number) => ({ total, match: total, mismatch: 0, noise: 0, error: 0 });
  const side = { answers: 1_000, errors: 0, buckets: [{ leMs: 100, count: 1_000 }] };
  const groupEvidence = (post: { requests: number; skips: Record<string, number> }): GroupEvidence => ({
    routes: new Map([['GET /orders/{id}', counts(1_000)]]),
    sides: { legacy: side, new: side },
    requests: [{ route: 'GET /orders/{id}', stage: 'shadow', servedBy: 'legacy', count: 1_000 }, { route: 'POST /orders', stage: 'shadow', servedBy: 'legacy', count: post.requests }],
    skips: post.skips,
    traffic: new Map([['GET /orders/{id}', { requests: 1_000, skips: {}, lost: {} }], ['POST /orders', { requests: post.requests, skips: post.skips, lost: {} }]]),
  });

  it('names the writes not mirrored with shadow.writes off, and judges them by their comparisons with dry-run', () => {
    const off = summarise(groupOf({ readiness: { minComparisons: 100 } }), groupEvidence({ requests: 412, skips: { unsafe_method: 412 } }));
    assert.equal(off.readiness.verdict, 'insufficient_data');
    assert.deepEqual(off.readiness.reasons.filter((reason) => !reason.ok).map((reason) => reason.text), ['POST /orders: 0 of 412 requests compared: writes are not mirrored (shadow.writes: off)']);
    const dryRun = summarise(groupOf({ shadow: { writes: 'dry-run' }, readiness: { minComparisons: 100 } }), groupEvidence({ requests: 412, skips: { sampled_out: 412 } }));
    assert.deepEqual(dryRun.readiness.reasons.filter((reason) => !reason.ok).map((reason) => reason.text), ['POST /orders: 0 of 412 requests compared (≥ 100)']);
  });

  it('counts shadows skipped for capacity and an open circuit as evidence lost, and a sampled-out one not', () => {
    const group = groupOf({ shadow: { writes: 'dry-run' }, readiness: { minComparisons: 100, exempt: [{ route: 'POST /orders', reason: 'r' }] } });
    const evidence = (skips: Record<string, number>): GroupEvidence => ({ ...groupEvidence({ requests: 0, skips: {} }), traffic: new Map([['GET /orders/{id}', { requests: 1_000, skips, lost: { store_down: 1 } }]]) });
    const lost = summarise(group, evidence({ capacity: 2, shadow_circuit_open: 3, sampled_out: 500 }));
    assert.equal(check(lost.readiness.reasons, 'lost_evidence').text, 'GET /orders/{id}: evidence lost for 6 of 1,005 comparisons, 0.6 % (≤ 5 %): capacity 2, shadow_circuit_open 3, store_down 1');
    assert.deepEqual(lost.lostEvidence, { store_down: 1 });
  });

  it('judges latency from the store\'s buckets of both sides, and refuses the old p99 ratio naming the keys that replace it', () => {
    const slow = { answers: 1_000, errors: 0, buckets: [{ leMs: 150, count: 1_000 }] };
    const judged = summarise(groupOf({ readiness: { minComparisons: 100 } }), { ...groupEvidence({ requests: 0, skips: {} }), sides: { legacy: side, new: slow } });
    assert.deepEqual(check(judged.readiness.reasons, 'latency'), { check: 'latency', ok: false, text: 'new is slower than legacy by more than 20 % (98 % confidence, n = 1,000 / 1,000)' });
    assert.equal(judged.readiness.verdict, 'not_ready');
    assert.deepEqual(groupOf({}).readiness.latency, { maxIncrease: 0.2, confidence: 0.98, minSamples: 100 });
    assert.throws(() => groupOf({ readiness: { maxP99Ratio: 1.2 } }), {
      message: 'groups.orders.readiness.maxP99Ratio: replaced by the latency judge: set maxLatencyIncrease (a share: 0.2 is 20 % slower; default 0.2), latencyConfidence and minLatencySamples instead',
    });
  });

  it('takes a route\'s minimum from the group\'s, at most 100, and refuses an exemption of a route the group does not have', () => {
    assert.equal(groupOf({ readiness: { minComparisons: 3 } }).readiness.minRouteComparisons, 3);
    assert.equal(groupOf({}).readiness.minRouteComparisons, 100);
    assert.throws(() => groupOf({ readiness: { exempt: [{ route: 'DELETE /orders/{id}', reason: 'r' }] } }),
      { message: 'groups.orders.readiness.exempt[0].route: DELETE /orders/{id} is not a route of group orders' });
    assert.throws(() => groupOf({ readiness: { exempt: [{ route: 'POST /orders', reason: ' ' }] } }), { message: /^groups\.orders\.readiness\.exempt\[0\]\.reason: / });
  });
});
