import type { Comparison } from './comparison.js';
import type { Difference } from './diff.js';
import { compilePattern } from './pointer.js';
import type { Rules } from './rules.js';

/**
 * Noise calibration (after Diffy, without its third deployment). A share of idempotent requests
 * is also sent twice to the primary's side (A/A). Per (route, field) the model counts the
 * comparisons in which the field differs between legacy and new (A/B) and between the two A/A
 * responses. A field is noise when it differs A/A at least as often as A/B, or when the gap
 * between the two rates is below both thresholds. A field never seen differing A/A is never
 * noise, whatever the thresholds: a field that differs only between legacy and new is never hidden.
 */

export interface NoiseThresholds {
  /** The A/B rate's excess over the A/A rate, relative to the A/B rate (0.2 = 20 %). */
  readonly relative: number;
  /** The same excess as a share of the route's comparisons (0.0003 = 0.03 %). */
  readonly absolute: number;
}

export const DEFAULT_NOISE_THRESHOLDS: NoiseThresholds = Object.freeze({ relative: 0.2, absolute: 0.0003 });

/** Which part of the responses a field is in; it decides the rule that would silence it. */
export type FieldTarget = 'status' | 'header' | 'body';

export interface FieldCounts {
  /** Comparisons of the route in which the field differed between legacy and new. */
  readonly differencesAB: number;
  /** A/A comparisons of the route in which the field differed between the two responses. */
  readonly differencesAA: number;
}

export interface FieldNoise extends FieldCounts {
  readonly route: string;
  readonly target: FieldTarget;
  /** JSON Pointer pattern (array indexes as *), or /status, or /headers/<name>. */
  readonly field: string;
  readonly rateAB: number;
  readonly rateAA: number;
  readonly noisy: boolean;
}

export interface RouteNoise {
  readonly route: string;
  readonly comparisonsAB: number;
  readonly comparisonsAA: number;
  readonly fields: readonly FieldNoise[];
  /** Differing fields not counted because the route reached its field cap; never noise. */
  readonly untracked: number;
}

export interface NoiseSnapshot {
  readonly thresholds: NoiseThresholds;
  readonly routes: readonly RouteNoise[];
}

export interface NoiseModelOptions {
  readonly thresholds?: Partial<NoiseThresholds>;
  /** Fields tracked per route, so that memory stays bounded whatever the documents hold. */
  readonly maxFieldsPerRoute?: number;
}

/** Whether a field is noise, given its counts and its route's comparisons on each side. */
export function isNoisyField(counts: FieldCounts, comparisonsAB: number, comparisonsAA: number, thresholds: NoiseThresholds = DEFAULT_NOISE_THRESHOLDS): boolean {
  if (counts.differencesAA === 0 || comparisonsAA === 0) return false;
  const rateAA = counts.differencesAA / comparisonsAA;
  const rateAB = comparisonsAB === 0 ? 0 : counts.differencesAB / comparisonsAB;
  if (rateAA >= rateAB) return true;
  const gap = rateAB - rateAA;
  return gap / rateAB < thresholds.relative && gap < thresholds.absolute;
}

function targetOf(difference: Difference): FieldTarget {
  return difference.kind === 'status' ? 'status' : difference.kind === 'header' ? 'header' : 'body';
}

interface MutableCounts { differencesAB: number; differencesAA: number }

interface RouteCounters {
  comparisonsAB: number;
  comparisonsAA: number;
  untracked: number;
  readonly fields: Map<string, MutableCounts & { readonly target: FieldTarget; readonly field: string }>;
}

/** Learns which fields are noise, per route. Mutable counters; snapshots are immutable. */
export class NoiseModel {
  readonly thresholds: NoiseThresholds;
  readonly #maxFields: number;
  readonly #routes = new Map<string, RouteCounters>();

  constructor(options: NoiseModelOptions = {}) {
    this.thresholds = Object.freeze({ ...DEFAULT_NOISE_THRESHOLDS, ...options.thresholds });
    this.#maxFields = options.maxFieldsPerRoute ?? 200;
  }

  /** Counts a legacy-versus-new comparison (before classify). Errors carry no field information. */
  recordAB(route: string, comparison: Comparison): void {
    this.#record(route, comparison, 'differencesAB');
  }

  /** Counts a comparison of two responses of the same side to the same request. */
  recordAA(route: string, comparison: Comparison): void {
    this.#record(route, comparison, 'differencesAA');
  }

  #record(route: string, comparison: Comparison, side: keyof MutableCounts): void {
    if (comparison.verdict === 'error') return;
    let counters = this.#routes.get(route);
    if (!counters) this.#routes.set(route, counters = { comparisonsAB: 0, comparisonsAA: 0, untracked: 0, fields: new Map() });
    if (side === 'differencesAB') counters.comparisonsAB++;
    else counters.comparisonsAA++;
    // A field counts once per comparison, however many array elements it differs in.
    const seen = new Set<string>();
    for (const difference of comparison.differences) {
      const target = targetOf(difference);
      const key = `${target} ${difference.field}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let counts = counters.fields.get(key);
      if (!counts) {
        if (counters.fields.size >= this.#maxFields) {
          counters.untracked++;
          continue;
        }
        counters.fields.set(key, counts = { target, field: difference.field, differencesAB: 0, differencesAA: 0 });
      }
      counts[side]++;
    }
  }

  isNoise(route: string, difference: Difference): boolean {
    const counters = this.#routes.get(route);
    const counts = counters?.fields.get(`${targetOf(difference)} ${difference.field}`);
    return counters !== undefined && counts !== undefined && isNoisyField(counts, counters.comparisonsAB, counters.comparisonsAA, this.thresholds);
  }

  /** A mismatch whose every difference is noise becomes verdict `noise`; anything else is returned as is. */
  classify(route: string, comparison: Comparison): Comparison {
    if (comparison.verdict !== 'mismatch' || !comparison.differences.every((difference) => this.isNoise(route, difference))) return comparison;
    return Object.freeze({ ...comparison, verdict: 'noise' });
  }

  snapshot(): NoiseSnapshot {
    const routes = [...this.#routes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([route, counters]) => {
      const fields = [...counters.fields.values()].map((counts) => Object.freeze({
        route,
        target: counts.target,
        field: counts.field,
        differencesAB: counts.differencesAB,
        differencesAA: counts.differencesAA,
        rateAB: counters.comparisonsAB === 0 ? 0 : counts.differencesAB / counters.comparisonsAB,
        rateAA: counters.comparisonsAA === 0 ? 0 : counts.differencesAA / counters.comparisonsAA,
        noisy: isNoisyField(counts, counters.comparisonsAB, counters.comparisonsAA, this.thresholds),
      }));
      fields.sort((a, b) => b.differencesAB - a.differencesAB || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
      return Object.freeze({ route, comparisonsAB: counters.comparisonsAB, comparisonsAA: counters.comparisonsAA, fields: Object.freeze(fields), untracked: counters.untracked });
    });
    return Object.freeze({ thresholds: this.thresholds, routes: Object.freeze(routes) });
  }
}

/**
 * The rules a person would adopt to stop comparing the noisy fields among `fields` (typically
 * one group's routes from a snapshot): body fields become ignore patterns, headers leave the
 * compared list, a noisy status turns status comparison off. Nothing is applied automatically.
 */
export function suggestRules(fields: readonly FieldNoise[], base: Rules): Rules {
  const noisy = fields.filter((field) => field.noisy);
  const ignored = new Set(base.ignore.map((pattern) => pattern.source));
  const ignore = [...base.ignore];
  for (const { target, field } of noisy) {
    if (target !== 'body' || ignored.has(field)) continue;
    ignored.add(field);
    ignore.push(compilePattern(field));
  }
  const silencedHeaders = new Set(noisy.filter((field) => field.target === 'header').map((field) => field.field.slice('/headers/'.length)));
  return Object.freeze({
    ...base,
    ignore,
    headers: base.headers.filter((name) => !silencedHeaders.has(name)),
    status: base.status && !noisy.some((field) => field.target === 'status'),
  });
}
