import assert from 'node:assert/strict';
import { bucketOf, judgeLatency, LATENCY_BUCKETS_MS, type LatencyHistogram, normalCdf, rankSum } from '../compare/index.js';

/**
 * The latency judge (compare/latency.ts) at its boundaries: the tolerance just in and just out,
 * the minimum of answers just met and just missed, every answer tied. The figures were worked
 * out by hand for the rank sum, and found by stepping one answer at a time for the judge.
 */
const TOLERANCE = { maxIncrease: 0.2, confidence: 0.98, minSamples: 100 };

/** 100 legacy answers in (15, 20] ms; the new side's `slower` of its 100 one bucket up, in (20, 30]. */
const legacy: LatencyHistogram = [{ leMs: 20, count: 100 }];
const newWith = (slower: number): LatencyHistogram => [{ leMs: 20, count: 100 - slower }, { leMs: 30, count: slower }];

describe('the latency judge', () => {
  it('rank sum: midranks over tied cells and the tie-corrected variance, as worked by hand', () => {
    // first: 2, 2, 3, 3, 3; second: 1, 1, 1, 2, 2. Pairs where first is larger: 6 + 15, and 4 ties counted half.
    const test = rankSum([0, 2, 3], [3, 2, 0]);
    assert.equal(test.u, 23);
    assert.equal(test.mean, 12.5);
    // 25/12 × (11 − (24 + 60 + 24) / 90)
    assert.ok(Math.abs(test.variance - 20.416666666666668) < 1e-9, String(test.variance));
    assert.ok(Math.abs((test.z as number) - 10 / Math.sqrt(20.416666666666668)) < 1e-9, String(test.z));
  });

  it('rank sum: every answer in one cell tells the sides apart not at all', () => {
    assert.deepEqual(rankSum([0, 7, 0], [0, 5, 0]), { u: 17.5, mean: 17.5, variance: 0, z: null });
  });

  it('the normal distribution function at the 98 % quantile, and its symmetry', () => {
    assert.ok(Math.abs(normalCdf(2.053748911) - 0.98) < 2e-7);
    assert.ok(Math.abs(normalCdf(-1) - 0.158655254) < 2e-7);
    assert.ok(Math.abs(normalCdf(0) - 0.5) < 2e-7);
  });

  it('buckets answers as the store does', () => {
    assert.deepEqual([bucketOf(0.2), bucketOf(1), bucketOf(1.01), bucketOf(20), bucketOf(10_000), bucketOf(10_001)], [1, 1, 2, 20, 10_000, 2_147_483_647]);
    assert.equal(LATENCY_BUCKETS_MS.length, 25);
  });

  it('tolerance: 64 of 100 answers a bucket slower is within 20 % at 98 %, 65 is not', () => {
    const inside = judgeLatency(legacy, newWith(64), TOLERANCE);
    assert.equal(inside.outcome, 'not_slower');
    assert.equal(inside.text, 'new is not slower than legacy by more than 20 % (98 % confidence, n = 100 / 100)');
    assert.ok((inside.pValue as number) > 0.02 && (inside.pValue as number) < 0.021, String(inside.pValue));
    const outside = judgeLatency(legacy, newWith(65), TOLERANCE);
    assert.equal(outside.outcome, 'slower');
    assert.equal(outside.text, 'new is slower than legacy by more than 20 % (98 % confidence, n = 100 / 100)');
    assert.ok((outside.pValue as number) < 0.02 && (outside.pValue as number) > 0.011, String(outside.pValue));
  });

  it('tolerance: the same shift is within a looser one, and a lower confidence calls it sooner', () => {
    // Every answer one bucket up, (15, 20] to (20, 30]: beyond 20 %, within 50 %.
    assert.equal(judgeLatency(legacy, newWith(100), TOLERANCE).outcome, 'slower');
    assert.equal(judgeLatency(legacy, newWith(100), { ...TOLERANCE, maxIncrease: 0.5 }).text, 'new is not slower than legacy by more than 50 % (98 % confidence, n = 100 / 100)');
    assert.equal(judgeLatency(legacy, newWith(64), { ...TOLERANCE, confidence: 0.95 }).text, 'new is slower than legacy by more than 20 % (95 % confidence, n = 100 / 100)');
  });

  it('a new side as fast as legacy is not slower, however many answers', () => {
    const same: LatencyHistogram = [{ leMs: 10, count: 4_000 }, { leMs: 15, count: 5_000 }, { leMs: 20, count: 1_000 }];
    const judged = judgeLatency(same, same, TOLERANCE);
    assert.equal(judged.text, 'new is not slower than legacy by more than 20 % (98 % confidence, n = 10,000 / 10,000)');
    assert.ok((judged.pValue as number) > 0.999, String(judged.pValue));
  });

  it('a new side 10 % slower with 10,000 answers a side is within 20 % (the tolerance is applied, not a test of any difference)', () => {
    // Legacy spread evenly over (10, 20] ms; the new side over (11, 22] ms, placed by the same buckets.
    const spreadOver = (lo: number, hi: number, n: number): LatencyHistogram => {
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const bound = bucketOf(lo + ((hi - lo) * (i + 0.5)) / n);
        counts.set(bound, (counts.get(bound) ?? 0) + 1);
      }
      return [...counts].map(([leMs, count]) => ({ leMs, count }));
    };
    const judged = judgeLatency(spreadOver(10, 20, 10_000), spreadOver(11, 22, 10_000), TOLERANCE);
    assert.equal(judged.text, 'new is not slower than legacy by more than 20 % (98 % confidence, n = 10,000 / 10,000)');
    // And 40 % slower is caught.
    assert.equal(judgeLatency(spreadOver(10, 20, 10_000), spreadOver(14, 28, 10_000), TOLERANCE).outcome, 'slower');
  });

  it('minimum answers: exactly the minimum on each side is judged, one fewer on either side is insufficient data', () => {
    assert.equal(judgeLatency(legacy, newWith(100), TOLERANCE).outcome, 'slower');
    const fewNew = judgeLatency(legacy, [{ leMs: 30, count: 99 }], TOLERANCE);
    assert.deepEqual(fewNew, { outcome: 'insufficient_data', newCount: 99, legacyCount: 100, pValue: null, text: 'latency: too few answers to judge (n = 99 / 100; at least 100 a side)' });
    const fewLegacy = judgeLatency([{ leMs: 20, count: 99 }], newWith(100), TOLERANCE);
    assert.equal(fewLegacy.outcome, 'insufficient_data');
    assert.equal(fewLegacy.text, 'latency: too few answers to judge (n = 100 / 99; at least 100 a side)');
    assert.equal(judgeLatency([], [], TOLERANCE).text, 'latency: too few answers to judge (n = 0 / 0; at least 100 a side)');
  });

  it('all ties: every answer of both sides past the last bound is no evidence of a slower side', () => {
    const past: LatencyHistogram = [{ leMs: 2_147_483_647, count: 150 }];
    const judged = judgeLatency(past, past, TOLERANCE);
    assert.deepEqual(judged, { outcome: 'not_slower', newCount: 150, legacyCount: 150, pValue: 1, text: 'new is not slower than legacy by more than 20 % (98 % confidence, n = 150 / 150)' });
  });

  it('answers past the last bound rank above every finite one', () => {
    assert.equal(judgeLatency([{ leMs: 10_000, count: 100 }], [{ leMs: 2_147_483_647, count: 100 }], TOLERANCE).outcome, 'slower');
    assert.equal(judgeLatency([{ leMs: 2_147_483_647, count: 100 }], [{ leMs: 10_000, count: 100 }], TOLERANCE).outcome, 'not_slower');
  });

  it('refuses a bucket bound that is not one of the histogram\'s', () => {
    assert.throws(() => judgeLatency([{ leMs: 12, count: 100 }], newWith(0), TOLERANCE), /12 ms is not a latency bucket bound/);
  });
});
