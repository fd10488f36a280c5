/**
 * The latency judge: is the new side slower than legacy by more than a tolerance? After Kayenta's
 * Mann-Whitney classifier (which calls a metric High only when the test, at 98 % in Netflix's
 * judge, puts the shift of the canary's values beyond an allowed band, and Pass otherwise), for
 * answers known only by their histogram bucket. See docs/comparing.md, "Latency".
 *
 * The test: one-sided Mann-Whitney U of the new side's latencies against legacy's multiplied by
 * (1 + tolerance). Legacy's buckets, scaled, no longer line up with the new side's, so both are
 * spread over the finer grid of both sets of bounds, uniformly within each bucket (the assumption
 * Prometheus's histogram_quantile makes). Answers in one cell of that grid are ties: midranks, and
 * the tie-corrected normal approximation with a continuity correction. The new side is called
 * slower only when the test says so at the confidence asked; too few answers on either side is no
 * judgement at all.
 */

/** Latency bucket bounds in milliseconds, roughly 1-2-3-5-7 per decade; the last one is everything slower. */
export const LATENCY_BUCKETS_MS = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000, 2_147_483_647] as const;

/** The last bucket's bound: answers slower than every finite bound, ranked together as the slowest. */
const OVERFLOW_MS = 2_147_483_647;

/** The bound of the bucket an answer of `ms` milliseconds falls in. */
export function bucketOf(ms: number): number {
  return LATENCY_BUCKETS_MS.find((bound) => ms <= bound) ?? OVERFLOW_MS;
}

/** A side's answers by bucket: `leMs` one of LATENCY_BUCKETS_MS. */
export type LatencyHistogram = ReadonlyArray<{ readonly leMs: number; readonly count: number }>;

export interface LatencyTolerance {
  /** How much slower the new side may be, a share: 0.2 is "legacy's latencies × 1.2". */
  readonly maxIncrease: number;
  /** The confidence of the one-sided test, e.g. 0.98. */
  readonly confidence: number;
  /** Fewer answers on either side is `insufficient_data`. */
  readonly minSamples: number;
}

export interface LatencyJudgement {
  /** `slower` only when the test shows it at the confidence asked. */
  readonly outcome: 'not_slower' | 'slower' | 'insufficient_data';
  readonly newCount: number;
  readonly legacyCount: number;
  /** The one-sided p-value of "new is slower than legacy × (1 + maxIncrease)"; null without a test. */
  readonly pValue: number | null;
  /** One line with the figures, e.g. "new is not slower than legacy by more than 20 % (98 % confidence, n = 4,210 / 4,198)". */
  readonly text: string;
}

/** The rank-sum test's figures for two samples given as weights over the same ordered cells. */
export interface RankSum {
  /** Mann-Whitney U of the first sample: pairs in which it is the larger, ties counted half. */
  readonly u: number;
  readonly mean: number;
  /** Tie-corrected. */
  readonly variance: number;
  /** (u − mean − ½) / √variance: the one-sided statistic for "the first is larger"; null when every answer ties. */
  readonly z: number | null;
}

/**
 * Mann-Whitney U of `first` against `second`, each a weight per cell, cells in ascending order;
 * ties within a cell get their midrank. Weights may be fractions (answers spread over cells).
 */
export function rankSum(first: readonly number[], second: readonly number[]): RankSum {
  const n1 = first.reduce((all, w) => all + w, 0), n2 = second.reduce((all, w) => all + w, 0), n = n1 + n2;
  let below = 0, rankSumFirst = 0, ties = 0;
  for (const [cell, a] of first.entries()) {
    const t = a + (second[cell] ?? 0);
    rankSumFirst += a * (below + (t + 1) / 2);
    ties += t * t * t - t;
    below += t;
  }
  const u = rankSumFirst - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = n < 2 ? 0 : ((n1 * n2) / 12) * ((n + 1) - ties / (n * (n - 1)));
  // A variance within rounding of zero is every answer in one cell: nothing tells the sides apart.
  const z = variance <= 1e-9 * n1 * n2 ? null : (u - mean - 0.5) / Math.sqrt(variance);
  return { u, mean, variance, z };
}

/** Φ(z), the standard normal distribution function, by Numerical Recipes' Chebyshev fit of erfc (relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Each bucket's lower bound: the bound before it on the grid. */
export function bucketLowerBound(leMs: number): number {
  const index = LATENCY_BUCKETS_MS.indexOf(leMs as (typeof LATENCY_BUCKETS_MS)[number]);
  if (index === -1) throw new RangeError(`${leMs} ms is not a latency bucket bound`);
  return index === 0 ? 0 : LATENCY_BUCKETS_MS[index - 1] as number;
}

/** A histogram's answers spread over `cells` (ascending finite bounds; a last cell for the overflow), each bucket scaled by `scale`. */
function spread(histogram: LatencyHistogram, cells: readonly number[], scale: number): number[] {
  const weights = new Array<number>(cells.length + 1).fill(0);
  for (const { leMs, count } of histogram) {
    if (count === 0) continue;
    if (leMs === OVERFLOW_MS) {
      weights[cells.length] = (weights[cells.length] as number) + count;
      continue;
    }
    const lo = bucketLowerBound(leMs) * scale, hi = leMs * scale;
    let cellLow = 0;
    for (const [cell, cellHigh] of cells.entries()) {
      const overlap = Math.min(hi, cellHigh) - Math.max(lo, cellLow);
      if (overlap > 0) weights[cell] = (weights[cell] as number) + (count * overlap) / (hi - lo);
      cellLow = cellHigh;
    }
  }
  return weights;
}

const count = new Intl.NumberFormat('en-US');
const percent = (share: number) => `${Number((share * 100).toFixed(1))} %`;

/** Whether the new side's latencies are slower than legacy's by more than the tolerance, from both sides' histograms. */
export function judgeLatency(legacy: LatencyHistogram, newSide: LatencyHistogram, tolerance: LatencyTolerance): LatencyJudgement {
  const legacyCount = legacy.reduce((all, bucket) => all + bucket.count, 0);
  const newCount = newSide.reduce((all, bucket) => all + bucket.count, 0);
  const n = `n = ${count.format(newCount)} / ${count.format(legacyCount)}`;
  if (newCount < tolerance.minSamples || legacyCount < tolerance.minSamples) {
    return { outcome: 'insufficient_data', newCount, legacyCount, pValue: null, text: `latency: too few answers to judge (${n}; at least ${count.format(tolerance.minSamples)} a side)` };
  }
  const scale = 1 + tolerance.maxIncrease;
  const finite = LATENCY_BUCKETS_MS.slice(0, -1);
  const cells = [...new Set([...finite, ...finite.map((bound) => bound * scale)])].sort((a, b) => a - b);
  const test = rankSum(spread(newSide, cells, 1), spread(legacy, cells, scale));
  const pValue = test.z === null ? 1 : 1 - normalCdf(test.z);
  const slower = pValue < 1 - tolerance.confidence;
  const figures = `by more than ${percent(tolerance.maxIncrease)} (${percent(tolerance.confidence)} confidence, ${n})`;
  return {
    outcome: slower ? 'slower' : 'not_slower',
    newCount,
    legacyCount,
    pValue,
    text: slower ? `new is slower than legacy ${figures}` : `new is not slower than legacy ${figures}`,
  };
}
