import assert from 'node:assert/strict';
import { DEFAULT_RULES, response } from '../compare/index.js';
import { parseConfig } from '../proxy/config/config.js';
import { Overrides } from '../proxy/decision/overrides.js';
import type { Side } from '../proxy/decision/stage.js';
import { comparisonRecord, type ComparisonRecord } from '../proxy/evidence/record.js';
import { Guard } from '../proxy/guard/guard.js';
import { Metrics } from '../proxy/telemetry/metrics.js';
import { capturedLogger } from './support/logs.js';
import { sample } from './support/metrics.js';

/**
 * Every threshold of the guard (proxy/guard/guard.ts) at its boundary, on one replica with the
 * overrides in its own memory: the figure just in never trips, just out trips, with the reason.
 * test/guard.test.ts proves the same guard on three replicas sharing a store, with traffic.
 */
const GUARD = { enabled: true, windowMs: 60_000, minSamples: 20, maxErrorRateIncrease: 0.1, maxMismatchRate: 0.1, maxLatencyIncrease: 0.5 };

function guarded(settings: Record<string, unknown> = {}) {
  const config = parseConfig({
    legacy: { url: 'http://127.0.0.1:1' },
    flags: { datafile: 'datafile.json' },
    groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'], guard: { ...GUARD, ...settings } } },
  }, '/', {});
  const { logger, lines } = capturedLogger();
  const overrides = new Overrides(new Set(['catalog']), () => undefined, false, logger, config.store.overrides);
  const metrics = new Metrics();
  const guard = new Guard(config.groups, overrides, metrics, logger);
  const trips = async () => sample(await metrics.registry.metrics(), 'cutover_guard_trips_total', { group: 'catalog' });
  return { guard, overrides, metrics, lines, trips };
}

/** A comparison: `primary` answered the client, the other side was its shadow. */
function compared(primary: Side, { verdict = 'match', newStatus = 200, newMs = 10, legacyMs = 10, receivedAt = Date.now() }: { verdict?: 'match' | 'mismatch' | 'noise' | 'error'; newStatus?: number; newMs?: number; legacyMs?: number; receivedAt?: number } = {}): ComparisonRecord {
  return comparisonRecord({
    at: new Date(),
    group: 'catalog',
    route: 'GET /price',
    primarySide: primary,
    request: { method: 'GET', path: '/price', query: '', requestId: 'r', caller: 'c', stage: primary === 'new' ? 'live' : 'shadow', rule: null, variation: null, headers: {}, body: Buffer.alloc(0), receivedAt },
    legacy: { observation: response(200), ms: legacyMs },
    new: { observation: response(newStatus), ms: newMs },
    comparison: { verdict, differences: [] },
    noiseFields: new Set(),
    rules: DEFAULT_RULES,
  });
}

/** `n` times. */
const times = (n: number, act: (i: number) => void) => { for (let i = 0; i < n; i++) act(i); };

describe('the guard: every threshold at its boundary', () => {
  it('error rate: new at legacy\'s plus the allowance does not trip, one failure more trips, with the figures', async () => {
    const at = guarded();
    // 20 new answers, 2 failing (10 %), against 20 legacy answers, none failing.
    times(20, (i) => at.guard.answered('catalog', 'new', i < 2 ? 500 : 200, false, 10, Date.now()));
    times(20, () => at.guard.answered('catalog', 'legacy', 200, false, 10, Date.now()));
    await at.guard.look();
    assert.equal(at.overrides.get('catalog'), undefined);
    assert.equal(await at.trips(), 0);

    const over = guarded();
    times(20, (i) => over.guard.answered('catalog', 'new', i < 3 ? 500 : 200, false, 10, Date.now()));
    times(20, () => over.guard.answered('catalog', 'legacy', 200, false, 10, Date.now()));
    await over.guard.look();
    assert.equal(over.overrides.get('catalog'), 'shadow');
    const [event] = await over.overrides.changes();
    assert.deepEqual({ actor: event?.actor, stage: event?.stage, reason: event?.reason }, { actor: 'guard', stage: 'shadow', reason: 'guard: new 5xx 15.0 % vs legacy 0.0 % over 40 requests' });
    assert.equal(await over.trips(), 1);
    assert.ok(over.lines.some((line) => line.includes('"level":50') && line.includes('guard: group catalog rolled back to shadow on every replica: new 5xx 15.0 % vs legacy 0.0 % over 40 requests')));
  });

  it('error rate: legacy failing as much as new does not trip', async () => {
    const both = guarded();
    times(20, (i) => both.guard.answered('catalog', 'new', i < 6 ? 500 : 200, false, 10, Date.now()));
    times(20, (i) => both.guard.answered('catalog', 'legacy', i < 5 ? 502 : 200, false, 10, Date.now()));
    await both.guard.look();
    assert.equal(both.overrides.get('catalog'), undefined);
  });

  it('minimum samples: one new answer fewer than the minimum never trips, every one failing; the minimum does', async () => {
    const few = guarded();
    times(19, () => few.guard.answered('catalog', 'new', 503, false, 10, Date.now()));
    await few.guard.look();
    assert.equal(few.overrides.get('catalog'), undefined);
    few.guard.answered('catalog', 'new', 503, false, 10, Date.now());
    await few.guard.look();
    assert.equal(few.overrides.get('catalog'), 'shadow');
    assert.equal((await few.overrides.changes())[0]?.reason, 'guard: new 5xx 100.0 % vs legacy 0.0 % over 20 requests');
  });

  it('fallbacks count as failures of the new side', async () => {
    const fallen = guarded();
    times(20, () => fallen.guard.answered('catalog', 'legacy', 200, true, 10, Date.now()));
    await fallen.guard.look();
    assert.equal((await fallen.overrides.changes())[0]?.reason, 'guard: new 5xx 100.0 % vs legacy 0.0 % over 20 requests');
  });

  it('mismatches of the reverse shadow (live): at the limit no trip, one more trips; noise is not a mismatch', async () => {
    const at = guarded();
    times(20, (i) => at.guard.consume(compared('new', { verdict: i < 2 ? 'mismatch' : i < 10 ? 'noise' : 'match' })));
    times(20, () => at.guard.answered('catalog', 'new', 200, false, 10, Date.now()));
    await at.guard.look();
    assert.equal(at.overrides.get('catalog'), undefined);

    const over = guarded();
    times(20, (i) => over.guard.consume(compared('new', { verdict: i < 3 ? 'mismatch' : 'noise' })));
    times(20, () => over.guard.answered('catalog', 'new', 200, false, 10, Date.now()));
    await over.guard.look();
    assert.equal((await over.overrides.changes())[0]?.reason, 'guard: mismatches 15.0 % over 20 comparisons');
  });

  it('mismatches: the minimum of comparisons is needed, one fewer never trips', async () => {
    const few = guarded();
    times(19, () => few.guard.consume(compared('new', { verdict: 'mismatch' })));
    times(20, () => few.guard.answered('catalog', 'new', 200, false, 10, Date.now()));
    await few.guard.look();
    assert.equal(few.overrides.get('catalog'), undefined);
  });

  it('mismatches: the shadow stage\'s comparisons (new as the shadow) are not the reverse shadow\'s and never trip', async () => {
    const shadowed = guarded();
    // Half the callers live (their answers fine), the other half in shadow, every shadow of the new side a mismatch.
    times(40, () => shadowed.guard.consume(compared('legacy', { verdict: 'mismatch' })));
    times(20, () => shadowed.guard.answered('catalog', 'new', 200, false, 10, Date.now()));
    await shadowed.guard.look();
    assert.equal(shadowed.overrides.get('catalog'), undefined);
  });

  it('never judges a group none of whose callers the new side serves: its failing shadows roll nothing back', async () => {
    const shadowOnly = guarded();
    times(40, () => shadowOnly.guard.consume(compared('legacy', { newStatus: 500, verdict: 'error' })));
    times(40, () => shadowOnly.guard.answered('catalog', 'legacy', 200, false, 10, Date.now()));
    await shadowOnly.guard.look();
    assert.equal(shadowOnly.overrides.get('catalog'), undefined);
    // One caller served by the new side, and the same failing shadows trip.
    shadowOnly.guard.answered('catalog', 'new', 200, false, 10, Date.now());
    await shadowOnly.guard.look();
    assert.equal((await shadowOnly.overrides.changes())[0]?.reason, 'guard: new 5xx 97.6 % vs legacy 0.0 % over 81 requests');
  });

  it('latency: a new side three times slower trips with the judge\'s figures; one answer a side fewer than the minimum never does', async () => {
    const slow = guarded();
    // Primary answers of the new side, and legacy's as the reverse shadow: (10, 15] ms against (30, 50].
    times(20, () => { slow.guard.answered('catalog', 'new', 200, false, 40, Date.now()); slow.guard.consume(compared('new', { newMs: 40, legacyMs: 13 })); });
    await slow.guard.look();
    assert.equal((await slow.overrides.changes())[0]?.reason, 'guard: new is slower than legacy by more than 50 % (98 % confidence, n = 20 / 20)');

    const few = guarded();
    times(19, () => { few.guard.answered('catalog', 'new', 200, false, 40, Date.now()); few.guard.consume(compared('new', { newMs: 40, legacyMs: 13 })); });
    few.guard.answered('catalog', 'new', 200, false, 40, Date.now());
    await few.guard.look();
    assert.equal(few.overrides.get('catalog'), undefined, '20 new answers, 19 of legacy');
  });

  it('latency: a new side within the tolerance does not trip; the tolerance is the guard\'s key', async () => {
    // (10, 15] ms against (15, 20]: about 40 % slower by the buckets.
    const within = guarded();
    times(100, () => { within.guard.answered('catalog', 'new', 200, false, 18, Date.now()); within.guard.consume(compared('new', { newMs: 18, legacyMs: 13 })); });
    await within.guard.look();
    assert.equal(within.overrides.get('catalog'), undefined);
    const strict = guarded({ maxLatencyIncrease: 0.1 });
    times(100, () => { strict.guard.answered('catalog', 'new', 200, false, 18, Date.now()); strict.guard.consume(compared('new', { newMs: 18, legacyMs: 13 })); });
    await strict.guard.look();
    assert.equal((await strict.overrides.changes())[0]?.reason, 'guard: new is slower than legacy by more than 10 % (98 % confidence, n = 100 / 100)');
  });

  it('latency: the time of a fallback is not an answer of either side', async () => {
    const fallen = guarded({ maxErrorRateIncrease: 1 });
    // Slow failures of the new side answered by legacy: failures, judged by the error rate (off here), not latencies.
    times(60, () => fallen.guard.answered('catalog', 'legacy', 200, true, 4_000, Date.now()));
    times(20, () => fallen.guard.answered('catalog', 'legacy', 200, false, 13, Date.now()));
    times(20, () => fallen.guard.consume(compared('legacy', { newMs: 13, legacyMs: 13 })));
    await fallen.guard.look();
    assert.equal(fallen.overrides.get('catalog'), undefined);
  });

  it('counts no request received before the override last changed, answered or compared after it; one received at the change counts', async () => {
    const cleared = guarded();
    await cleared.overrides.change({ group: 'catalog', stage: 'shadow', reason: 'broken', actor: 'alice' });
    await cleared.overrides.change({ group: 'catalog', stage: null, reason: 'fixed', actor: 'alice' });
    const changedAt = Date.now();
    const before = changedAt - 1_000;
    times(20, () => cleared.guard.answered('catalog', 'new', 500, false, 10, before));
    times(20, () => cleared.guard.consume(compared('legacy', { newStatus: 500, receivedAt: before })));
    cleared.guard.answered('catalog', 'new', 200, false, 10, Date.now());
    await cleared.guard.look();
    assert.equal(cleared.overrides.get('catalog'), undefined);

    const after = guarded();
    await after.overrides.change({ group: 'catalog', stage: null, reason: 'fixed', actor: 'alice' });
    const at = Date.now();
    times(20, () => after.guard.answered('catalog', 'new', 500, false, 10, at));
    await after.guard.look();
    assert.equal(after.overrides.get('catalog'), 'shadow');
  });

  it('rolls back to the configured stage, never forward, and leaves an override already there', async () => {
    const toLegacy = guarded({ rollbackTo: 'legacy' });
    times(20, () => toLegacy.guard.answered('catalog', 'new', 500, false, 10, Date.now()));
    await toLegacy.guard.look();
    assert.equal(toLegacy.overrides.get('catalog'), 'legacy');

    const engineer = guarded();
    await engineer.overrides.change({ group: 'catalog', stage: 'live', reason: 'moving on', actor: 'alice' });
    times(20, () => engineer.guard.answered('catalog', 'new', 500, false, 10, Date.now()));
    await engineer.guard.look();
    // Forced live by an engineer: the guard cannot replace it (the store's conditional write), and says nothing tripped.
    assert.equal(engineer.overrides.get('catalog'), 'live');
    assert.equal(await engineer.trips(), 0);
    assert.throws(() => guarded({ rollbackTo: 'live' }), /^Error: groups\.catalog\.guard\.rollbackTo: /);
  });
});
