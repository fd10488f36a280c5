import type { Comparison } from './comparison.js';
import type { Difference } from './diff.js';
import { compilePattern } from './pointer.js';
import type { Rules } from './rules.js';

/**
 * Noise calibration (after Diffy, without its third deployment). A share of idempotent requests
 * is also sent twice to the primary's side (A/A). Per (route, field) the model counts the
 * comparisons in which the field differs between legacy and new (A/B) and between the two A/A
 * responses. As in Diffy, a field differs for real only when its A/B rate exceeds its A/A rate
 * by more than both thresholds; failing either makes it noise. A field never seen differing A/A,
 * or seen on a route with fewer than `minSamplesAA` A/A comparisons, is never noise: a field that
 * differs only between legacy and new is never hidden, nor is one judged from a handful of pairs.
 * Counts decay (halved every `decayEvery` A/B comparisons of a route), so a field that stops
 * differing A/A becomes real again.
 */

export interface NoiseThresholds {
  /** The A/B rate's excess over the A/A rate, relative to the A/B rate (0.2 = 20 %). */
  readonly relative: number;
  /** The same excess as a share of the route's comparisons (0.0003 = 0.03 %). */
  readonly absolute: number;
  /** A/A comparisons a route needs before any of its fields can be noise. */
  readonly minSamplesAA: number;
  /** Every this many A/B comparisons of a route, all its counts are halved. */
  readonly decayEvery: number;
}

export const DEFAULT_NOISE_THRESHOLDS: NoiseThresholds = Object.freeze({ relative: 0.2, absolute: 0.0003, minSamplesAA: 20, decayEvery: 10_000 });

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
  /** Why it is or is not noise, with the figures. */
  readonly why: string;
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

function percent(share: number): string {
  return `${Number((share * 100).toPrecision(3))} %`;
}

/** Whether a field is noise, given its counts and its route's comparisons on each side, and why. */
export function noiseOf(counts: FieldCounts, comparisonsAB: number, comparisonsAA: number, thresholds: NoiseThresholds = DEFAULT_NOISE_THRESHOLDS): { noisy: boolean; why: string } {
  if (comparisonsAA < thresholds.minSamplesAA) return { noisy: false, why: `real: ${comparisonsAA} A/A comparisons, fewer than the ${thresholds.minSamplesAA} needed to call anything noise` };
  if (counts.differencesAA === 0) return { noisy: false, why: 'real: never differed A/A' };
  const rateAA = counts.differencesAA / comparisonsAA;
  const rateAB = comparisonsAB === 0 ? 0 : counts.differencesAB / comparisonsAB;
  if (rateAA >= rateAB) return { noisy: true, why: `noise: differs A/A (${percent(rateAA)}) at least as often as A/B (${percent(rateAB)})` };
  const gap = rateAB - rateAA;
  const relative = gap / rateAB;
  if (relative > thresholds.relative && gap > thresholds.absolute) {
    return { noisy: false, why: `real: A/B ${percent(rateAB)} exceeds A/A ${percent(rateAA)} by ${percent(relative)} relative (> ${percent(thresholds.relative)}) and ${percent(gap)} absolute (> ${percent(thresholds.absolute)})` };
  }
  const within = relative <= thresholds.relative ? `${percent(relative)} relative (≤ ${percent(thresholds.relative)})` : `${percent(gap)} absolute (≤ ${percent(thresholds.absolute)})`;
  return { noisy: true, why: `noise: A/B ${percent(rateAB)} exceeds A/A ${percent(rateAA)} by only ${within}` };
}

export function isNoisyField(counts: FieldCounts, comparisonsAB: number, comparisonsAA: number, thresholds: NoiseThresholds = DEFAULT_NOISE_THRESHOLDS): boolean {
  return noiseOf(counts, comparisonsAB, comparisonsAA, thresholds).noisy;
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

/** A route's counts as plain data: what the model hands over to be shared, and what it loads back. */
export interface RouteCounts {
  readonly route: string;
  readonly comparisonsAB: number;
  readonly comparisonsAA: number;
  readonly fields: ReadonlyArray<FieldCounts & { readonly target: FieldTarget; readonly field: string }>;
}

function emptyCounters(): RouteCounters {
  return { comparisonsAB: 0, comparisonsAA: 0, untracked: 0, fields: new Map() };
}

function asCounts(route: string, counters: RouteCounters): RouteCounts {
  return { route, comparisonsAB: counters.comparisonsAB, comparisonsAA: counters.comparisonsAA, fields: [...counters.fields.values()].map((counts) => ({ ...counts })) };
}

/**
 * Learns which fields are noise, per route. Mutable counters; snapshots are immutable. Besides
 * its totals it keeps what it counted since `takeChanges()`, so that several models (one per
 * proxy replica) can add their counts up in a shared store and `load()` the sum.
 */
export class NoiseModel {
  readonly thresholds: NoiseThresholds;
  readonly #maxFields: number;
  #routes = new Map<string, RouteCounters>();
  #changes = new Map<string, RouteCounters>();

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
    // A field counts once per comparison, however many array elements it differs in.
    const fields = new Map<string, { target: FieldTarget; field: string }>();
    for (const difference of comparison.differences) fields.set(`${targetOf(difference)} ${difference.field}`, { target: targetOf(difference), field: difference.field });
    for (const book of [this.#routes, this.#changes]) {
      let counters = book.get(route);
      if (!counters) book.set(route, counters = emptyCounters());
      if (side === 'differencesAB') counters.comparisonsAB++;
      else counters.comparisonsAA++;
      for (const [key, { target, field }] of fields) {
        let counts = counters.fields.get(key);
        if (!counts) {
          if (counters.fields.size >= this.#maxFields) {
            counters.untracked++;
            continue;
          }
          counters.fields.set(key, counts = { target, field, differencesAB: 0, differencesAA: 0 });
        }
        counts[side]++;
      }
    }
    const totals = this.#routes.get(route) as RouteCounters;
    if (totals.comparisonsAB >= this.thresholds.decayEvery) decay(totals);
  }

  /** What was counted since the last call, for a shared store to add up; the model forgets it. */
  takeChanges(): RouteCounts[] {
    const changes = [...this.#changes].map(([route, counters]) => asCounts(route, counters));
    this.#changes = new Map();
    return changes;
  }

  /** Replaces the totals by shared ones (which hold what was taken), keeping what was counted since. */
  load(totals: readonly RouteCounts[]): void {
    const routes = new Map<string, RouteCounters>();
    for (const route of [...totals, ...[...this.#changes].map(([name, counters]) => asCounts(name, counters))]) {
      let counters = routes.get(route.route);
      if (!counters) routes.set(route.route, counters = emptyCounters());
      counters.comparisonsAB += route.comparisonsAB;
      counters.comparisonsAA += route.comparisonsAA;
      for (const field of route.fields) {
        const key = `${field.target} ${field.field}`;
        const counts = counters.fields.get(key);
        if (counts) {
          counts.differencesAB += field.differencesAB;
          counts.differencesAA += field.differencesAA;
        } else if (counters.fields.size < this.#maxFields) {
          counters.fields.set(key, { ...field });
        }
      }
    }
    this.#routes = routes;
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
      const fields = [...counters.fields.values()].map((counts) => {
        const { noisy, why } = noiseOf(counts, counters.comparisonsAB, counters.comparisonsAA, this.thresholds);
        return Object.freeze({
          route,
          target: counts.target,
          field: counts.field,
          differencesAB: counts.differencesAB,
          differencesAA: counts.differencesAA,
          rateAB: counters.comparisonsAB === 0 ? 0 : counts.differencesAB / counters.comparisonsAB,
          rateAA: counters.comparisonsAA === 0 ? 0 : counts.differencesAA / counters.comparisonsAA,
          noisy,
          why,
        });
      });
      fields.sort((a, b) => b.differencesAB - a.differencesAB || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
      return Object.freeze({ route, comparisonsAB: counters.comparisonsAB, comparisonsAA: counters.comparisonsAA, fields: Object.freeze(fields), untracked: counters.untracked });
    });
    return Object.freeze({ thresholds: this.thresholds, routes: Object.freeze(routes) });
  }
}

/** Halves a route's counts: old comparisons weigh half as much as new ones, a window that slides. */
function decay(counters: RouteCounters): void {
  counters.comparisonsAB /= 2;
  counters.comparisonsAA /= 2;
  for (const counts of counters.fields.values()) {
    counts.differencesAB /= 2;
    counts.differencesAA /= 2;
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
