import type { ReadinessThresholds } from '../config/config.js';

/** Whether a group's evidence lets it move to its next stage. */
export type ReadinessVerdict = 'ready' | 'not_ready' | 'insufficient_data';

export interface ReadinessCheck {
  readonly check: 'comparisons' | 'mismatch_rate' | 'error_rate' | 'latency';
  readonly ok: boolean;
  /** One line a reviewer reads, with the figure and the threshold. */
  readonly text: string;
}

export interface Readiness { readonly verdict: ReadinessVerdict; readonly reasons: readonly ReadinessCheck[] }

export interface SideEvidence {
  readonly answers: number;
  readonly errors: number;
  readonly p99Ms: number | null;
}

export interface ReadinessEvidence {
  readonly comparisons: number;
  /** Comparisons that were mismatches or errors. */
  readonly mismatches: number;
  readonly legacy: SideEvidence;
  readonly new: SideEvidence;
}

const count = new Intl.NumberFormat('en-US');

function percent(share: number): string {
  return `${Number((share * 100).toFixed(share < 0.01 ? 2 : 1))} %`;
}

function rate(side: SideEvidence): number {
  return side.answers === 0 ? 0 : side.errors / side.answers;
}

/**
 * The verdict and its reasons, every check listed whether it passed or not. Too few comparisons
 * make the verdict `insufficient_data` whatever the rest says: a rate over a handful of requests
 * is not evidence.
 */
export function readinessOf(evidence: ReadinessEvidence, thresholds: ReadinessThresholds): Readiness {
  const mismatchRate = evidence.comparisons === 0 ? 0 : evidence.mismatches / evidence.comparisons;
  const legacyRate = rate(evidence.legacy), newRate = rate(evidence.new);
  const { p99Ms: newP99 } = evidence.new, { p99Ms: legacyP99 } = evidence.legacy;
  const reasons: ReadinessCheck[] = [
    {
      check: 'comparisons',
      ok: evidence.comparisons >= thresholds.minComparisons,
      text: `${count.format(evidence.comparisons)} comparisons in ${thresholds.windowHours} h (≥ ${count.format(thresholds.minComparisons)})`,
    },
    {
      check: 'mismatch_rate',
      ok: mismatchRate <= thresholds.maxMismatchRate,
      text: `mismatch rate ${percent(mismatchRate)} (≤ ${percent(thresholds.maxMismatchRate)}), errors included`,
    },
    {
      check: 'error_rate',
      ok: newRate - legacyRate <= thresholds.maxErrorRateIncrease,
      text: `new error rate ${percent(newRate)} vs legacy ${percent(legacyRate)} (at most ${percent(thresholds.maxErrorRateIncrease)} more)`,
    },
    newP99 === null || legacyP99 === null
      ? { check: 'latency', ok: false, text: 'p99 latency: not measured on both sides yet' }
      : {
        check: 'latency',
        ok: newP99 <= legacyP99 * thresholds.maxP99Ratio,
        text: `new p99 ${Math.round(newP99)} ms vs legacy ${Math.round(legacyP99)} ms (≤ ${thresholds.maxP99Ratio}×)`,
      },
  ];
  const verdict = !reasons[0]?.ok ? 'insufficient_data' : reasons.every((reason) => reason.ok) ? 'ready' : 'not_ready';
  return { verdict, reasons };
}
