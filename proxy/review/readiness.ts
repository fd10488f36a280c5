import { judgeLatency, type LatencyHistogram } from '../../compare/index.js';
import type { ReadinessThresholds } from '../config/config.js';

/** Whether a group's evidence lets it move to its next stage. */
export type ReadinessVerdict = 'ready' | 'not_ready' | 'insufficient_data';

export interface ReadinessCheck {
  readonly check: 'comparisons' | 'mismatch_rate' | 'error_rate' | 'latency' | 'route_coverage' | 'lost_evidence' | 'exempt';
  readonly ok: boolean;
  /** One line a reviewer reads, with the figure and the threshold. */
  readonly text: string;
}

export interface Readiness { readonly verdict: ReadinessVerdict; readonly reasons: readonly ReadinessCheck[] }

export interface SideEvidence {
  readonly answers: number;
  readonly errors: number;
  /** Its answers' latencies by bucket, primary and shadow alike, for the latency judge. */
  readonly latency: LatencyHistogram;
}

/** One route's share of the window: what it was asked, what was compared, and what evidence was lost. */
export interface RouteEvidence {
  readonly route: string;
  readonly requests: number;
  readonly comparisons: number;
  /** Why its requests are never compared, when they are not (writes not mirrored). */
  readonly unmirrored: string | undefined;
  /** Shadows not sent for want of capacity or behind an open circuit: comparisons that never happened. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Comparisons made whose evidence is lost: dropped by the store, or the shadow timed out. */
  readonly lost: Readonly<Record<string, number>>;
}

export interface ReadinessEvidence {
  readonly comparisons: number;
  /** Comparisons that were mismatches or errors. */
  readonly mismatches: number;
  readonly legacy: SideEvidence;
  readonly new: SideEvidence;
  readonly routes: readonly RouteEvidence[];
}

const count = new Intl.NumberFormat('en-US');

function percent(share: number): string {
  return `${Number((share * 100).toFixed(share < 0.01 ? 2 : 1))} %`;
}

function rate(side: SideEvidence): number {
  return side.answers === 0 ? 0 : side.errors / side.answers;
}

function total(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((all, n) => all + n, 0);
}

function byReason(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${count.format(n)}`).join(', ');
}

/**
 * A route's checks: an exempt route says so and why; one with traffic needs its minimum of
 * comparisons, and loses no more than its share of evidence. A route without traffic in the
 * window has nothing to judge.
 */
function routeChecks(route: RouteEvidence, thresholds: ReadinessThresholds): ReadinessCheck[] {
  const exemption = thresholds.exempt.get(route.route);
  if (exemption !== undefined) {
    return [{ check: 'exempt', ok: true, text: `${route.route}: exempt (${exemption}); ${count.format(route.comparisons)} of ${count.format(route.requests)} requests compared` }];
  }
  if (route.requests === 0 && route.comparisons === 0) return [];
  const compared = `${route.route}: ${count.format(route.comparisons)} of ${count.format(route.requests)} requests compared`;
  const checks: ReadinessCheck[] = [route.unmirrored !== undefined && route.comparisons < thresholds.minRouteComparisons
    ? { check: 'route_coverage', ok: false, text: `${compared}: ${route.unmirrored}` }
    : { check: 'route_coverage', ok: route.comparisons >= thresholds.minRouteComparisons, text: `${compared} (≥ ${count.format(thresholds.minRouteComparisons)})` }];
  const skipped = total(route.skipped), lost = skipped + total(route.lost);
  if (lost > 0) {
    // Skipped shadows are comparisons that never happened; lost ones were made, and are counted in `comparisons`.
    const share = lost / (route.comparisons + skipped);
    checks.push({
      check: 'lost_evidence',
      ok: share <= thresholds.maxLostShare,
      text: `${route.route}: evidence lost for ${count.format(lost)} of ${count.format(route.comparisons + skipped)} comparisons, ${percent(share)} (≤ ${percent(thresholds.maxLostShare)}): ${byReason({ ...route.skipped, ...route.lost })}`,
    });
  }
  return checks;
}

/**
 * The verdict and its reasons, every check listed whether it passed or not. Evidence missing
 * (too few comparisons in the group or on a route with traffic, too much of it lost, or too few
 * answers a side for the latency judge) makes
 * the verdict `insufficient_data` whatever the rest says: a rate over a handful of requests, or
 * over the requests of other routes, is not evidence.
 */
export function readinessOf(evidence: ReadinessEvidence, thresholds: ReadinessThresholds): Readiness {
  const mismatchRate = evidence.comparisons === 0 ? 0 : evidence.mismatches / evidence.comparisons;
  const legacyRate = rate(evidence.legacy), newRate = rate(evidence.new);
  const latency = judgeLatency(evidence.legacy.latency, evidence.new.latency, thresholds.latency);
  const reasons: ReadinessCheck[] = [
    {
      check: 'comparisons',
      ok: evidence.comparisons >= thresholds.minComparisons,
      text: `${count.format(evidence.comparisons)} comparisons in ${thresholds.windowHours} h (≥ ${count.format(thresholds.minComparisons)})`,
    },
    ...evidence.routes.flatMap((route) => routeChecks(route, thresholds)),
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
    // Kayenta's shape: not_ready only when the test shows the new side slower beyond the tolerance; too few answers is no evidence.
    { check: 'latency', ok: latency.outcome === 'not_slower', text: latency.text },
  ];
  const evidenceMissing = latency.outcome === 'insufficient_data'
    || reasons.some((reason) => !reason.ok && (reason.check === 'comparisons' || reason.check === 'route_coverage' || reason.check === 'lost_evidence'));
  const verdict = evidenceMissing ? 'insufficient_data' : reasons.every((reason) => reason.ok) ? 'ready' : 'not_ready';
  return { verdict, reasons };
}
