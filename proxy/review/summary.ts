import { bucketLowerBound } from '../../compare/index.js';
import type { Group } from '../config/config.js';
import type { GroupEvidence, SideSummary, VerdictCounts } from '../store/database.js';
import { STAGES } from '../decision/stage.js';
import { maySendTwice } from '../shadow/shadow.js';
import { type Readiness, readinessOf, type RouteEvidence } from './readiness.js';

export interface Latency { readonly p50Ms: number; readonly p99Ms: number }

/** What GET /api/groups says of a group's evidence over its window. */
export interface GroupSummary {
  readonly window: string;
  readonly requests: { readonly total: number; readonly byStage: Record<string, number>; readonly servedBy: Record<string, number> };
  readonly comparisons: VerdictCounts;
  /** Matches and noise over all comparisons; null without comparisons. */
  readonly matchRate: number | null;
  readonly routes: ReadonlyArray<{
    readonly route: string;
    readonly requests: number;
    readonly comparisons: VerdictCounts;
    readonly matchRate: number | null;
    /** Comparisons whose stored evidence is lost, by reason (store drops, shadow timeouts). */
    readonly lost: Readonly<Record<string, number>>;
  }>;
  readonly latency: { readonly legacy: Latency | null; readonly new: Latency | null };
  readonly errorRate: { readonly legacy: number | null; readonly new: number | null };
  readonly skippedShadows: Readonly<Record<string, number>>;
  /** The routes' lost evidence together, by reason: what the kept comparisons do not show. */
  readonly lostEvidence: Readonly<Record<string, number>>;
  readonly readiness: Readiness;
}

const NO_COMPARISONS: VerdictCounts = { total: 0, match: 0, mismatch: 0, noise: 0, error: 0 };

function matchRate(counts: VerdictCounts): number | null {
  return counts.total === 0 ? null : (counts.match + counts.noise) / counts.total;
}

function sum(a: VerdictCounts, b: VerdictCounts): VerdictCounts {
  return { total: a.total + b.total, match: a.match + b.match, mismatch: a.mismatch + b.mismatch, noise: a.noise + b.noise, error: a.error + b.error };
}

/**
 * A quantile from bucket counts, interpolated inside its bucket as Prometheus's
 * histogram_quantile does; in the last (unbounded) bucket, that bucket's lower bound.
 */
export function quantile(q: number, buckets: SideSummary['buckets']): number | null {
  const total = buckets.reduce((all, bucket) => all + bucket.count, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (const [index, bucket] of buckets.entries()) {
    // The bound below on the grid, whether or not its bucket has a row: the store keeps rows only for buckets that counted an answer.
    const lower = bucketLowerBound(bucket.leMs);
    if (seen + bucket.count >= rank) {
      if (index === buckets.length - 1 && bucket.leMs >= 2_147_483_647) return lower;
      return lower + (bucket.leMs - lower) * ((rank - seen) / bucket.count);
    }
    seen += bucket.count;
  }
  return buckets.at(-1)?.leMs ?? null;
}

function latency(side: SideSummary): Latency | null {
  const p50 = quantile(0.5, side.buckets), p99 = quantile(0.99, side.buckets);
  return p50 === null || p99 === null ? null : { p50Ms: Math.round(p50 * 10) / 10, p99Ms: Math.round(p99 * 10) / 10 };
}

/** Skip reasons that are evidence lost, not a choice: no room in the shadow pool, or the shadow side's circuit open. */
const LOST_SKIPS: readonly string[] = ['capacity', 'shadow_circuit_open'];

function add(into: Record<string, number>, counts: Readonly<Record<string, number>>): Record<string, number> {
  for (const [reason, n] of Object.entries(counts)) into[reason] = (into[reason] ?? 0) + n;
  return into;
}

export function summarise(group: Group, evidence: GroupEvidence): GroupSummary {
  const routes = group.routes.map((route) => {
    const comparisons = evidence.routes.get(route.key) ?? NO_COMPARISONS;
    const traffic = evidence.traffic.get(route.key);
    return { route: route.key, requests: traffic?.requests ?? 0, comparisons, matchRate: matchRate(comparisons), lost: traffic?.lost ?? {} };
  });
  const routeEvidence = group.routes.map((route): RouteEvidence => {
    const traffic = evidence.traffic.get(route.key);
    return {
      route: route.key,
      requests: traffic?.requests ?? 0,
      comparisons: evidence.routes.get(route.key)?.total ?? 0,
      unmirrored: maySendTwice(group, route.method) ? undefined : `writes are not mirrored (shadow.writes: ${group.shadow.writes})`,
      skipped: Object.fromEntries(Object.entries(traffic?.skips ?? {}).filter(([reason]) => LOST_SKIPS.includes(reason))),
      lost: traffic?.lost ?? {},
    };
  });
  const comparisons = routes.reduce((all, route) => sum(all, route.comparisons), NO_COMPARISONS);
  const byStage: Record<string, number> = Object.fromEntries(STAGES.map((stage) => [stage, 0]));
  const servedBy: Record<string, number> = { legacy: 0, new: 0 };
  for (const row of evidence.requests) {
    byStage[row.stage] = (byStage[row.stage] ?? 0) + row.count;
    servedBy[row.servedBy] = (servedBy[row.servedBy] ?? 0) + row.count;
  }
  const { legacy, new: newSide } = evidence.sides;
  const errorRate = (side: SideSummary) => (side.answers === 0 ? null : side.errors / side.answers);
  const sideLatency = { legacy: latency(legacy), new: latency(newSide) };
  return {
    window: `${group.readiness.windowHours}h`,
    requests: { total: evidence.requests.reduce((all, row) => all + row.count, 0), byStage, servedBy },
    comparisons,
    matchRate: matchRate(comparisons),
    routes,
    latency: sideLatency,
    errorRate: { legacy: errorRate(legacy), new: errorRate(newSide) },
    skippedShadows: evidence.skips,
    lostEvidence: routes.reduce((all, route) => add(all, route.lost), {}),
    readiness: readinessOf({
      comparisons: comparisons.total,
      mismatches: comparisons.mismatch + comparisons.error,
      legacy: { answers: legacy.answers, errors: legacy.errors, latency: legacy.buckets },
      new: { answers: newSide.answers, errors: newSide.errors, latency: newSide.buckets },
      routes: routeEvidence,
    }, group.readiness),
  };
}
